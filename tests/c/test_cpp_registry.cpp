// Images by reference through the C++ wrapper (bindings/cpp/gadgetrt.hpp), against the
// registry of the ctest fixture (scripts/registry-fixture.sh).
// Usage: test_cpp_registry FIXTURE_DIR KEY_DIR
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "gadgetrt.hpp"

static int failures = 0;
#define CHECK(c)                                                                   \
    do {                                                                           \
        if (!(c)) {                                                                \
            std::cerr << "FAIL " << __FILE__ << ":" << __LINE__ << ": " #c "\n"; \
            failures++;                                                            \
        }                                                                          \
    } while (0)

static std::string slurp(const std::string &p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    std::string addr = slurp(std::string(argv[1]) + "/addr");
    addr.erase(addr.find_last_not_of("\r\n") + 1);
    CHECK(!addr.empty());
    const std::string signed_ref = addr + "/gadgets/signed:v1", unsigned_ref = addr + "/gadgets/unsigned:v1";
    char tmpl[] = "/tmp/gadgetrt-cpp-store-XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    gadgetrt::ImageOptions o;
    o.store_dir = tmpl;
    o.public_keys = {slurp(std::string(argv[2]) + "/test.pub")};
    try {
        std::string digest = gadgetrt::pull_image(signed_ref, o);
        CHECK(digest.rfind("sha256:", 0) == 0 && digest.size() == 71);
        CHECK(gadgetrt::list_images_json(o).find(signed_ref) != std::string::npos);
        gadgetrt::Runtime rt;
        o.pull = gadgetrt::PullPolicy::Never;
        auto g = rt.load_ref(signed_ref, o);
        g.set_param("param-key", "param-value");
        g.start();
        g.stop();
        // Unsigned: refused with GRT_ERR_SIGNATURE, accepted with verification off.
        o.pull = gadgetrt::PullPolicy::Missing;
        try {
            rt.open_ref(unsigned_ref, o);
            CHECK(!"unsigned image accepted");
        } catch (const gadgetrt::Error &e) {
            CHECK(e.code() == GRT_ERR_SIGNATURE);
            CHECK(std::string(e.what()).find("no signature found") != std::string::npos);
        }
        gadgetrt::ImageOptions off = o;
        off.verify = false;
        rt.open_ref(unsigned_ref, off);
        gadgetrt::remove_image(signed_ref, o);
        try {
            gadgetrt::remove_image(signed_ref, o);
            CHECK(!"removed twice");
        } catch (const gadgetrt::Error &e) {
            CHECK(e.code() == GRT_ERR_NOT_FOUND);
        }
    } catch (const std::exception &e) {
        std::cerr << "FAIL: unexpected exception: " << e.what() << "\n";
        failures++;
    }
    std::system((std::string("rm -rf '") + tmpl + "'").c_str());
    return failures ? 1 : 0;
}
