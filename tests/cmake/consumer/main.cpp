// Downstream C++ consumer: the header-only wrapper through gadgetrt::gadgetrt.
#include <cstdio>

#include "gadgetrt.hpp"

int main() {
    try {
        gadgetrt::Runtime rt;
        std::printf("consumer_cpp: gadgetrt %s\n", std::string(gadgetrt::version()).c_str());
        return 0;
    } catch (const gadgetrt::Error &e) {
        std::fprintf(stderr, "error %u: %s\n", e.code(), e.what());
        return 1;
    }
}
