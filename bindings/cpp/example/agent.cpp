// agent — runs several gadgets at once on ONE epoll loop (their event fds + a signalfd) and
// prints every event as a JSON line prefixed by the gadget's name.
//
//   agent [--count N] [--timeout-ms T] GADGET [GADGET...]
//
// GADGET is anything grt_gadget_open_path accepts (.wasm file, directory, OCI layout).
// Names are the file names without extension, made unique with "#1", "#2" when needed.
// Exits 0 once every gadget delivered at least N events (--count, default 0 = run until the
// timeout or SIGINT/SIGTERM), 1 on error or if the timeout (default 10000 ms) hits first.
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "gadgetrt.hpp"

namespace {

struct Running {
    std::string name;
    gadgetrt::Gadget gadget;
    size_t events = 0;
};

std::string base_name(const std::string &path) {
    std::string s = path;
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    size_t slash = s.rfind('/');
    if (slash != std::string::npos) s = s.substr(slash + 1);
    size_t dot = s.find('.');
    if (dot != std::string::npos && dot > 0) s = s.substr(0, dot);
    return s;
}

int usage() {
    std::fprintf(stderr, "usage: agent [--count N] [--timeout-ms T] GADGET [GADGET...]\n");
    return 2;
}

} // namespace

int main(int argc, char **argv) {
    size_t want = 0;
    long timeout_ms = 10000;
    std::vector<std::string> paths;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--count" && i + 1 < argc) {
            want = std::strtoul(argv[++i], nullptr, 10);
        } else if (a == "--timeout-ms" && i + 1 < argc) {
            timeout_ms = std::strtol(argv[++i], nullptr, 10);
        } else if (a == "-h" || a == "--help" || (!a.empty() && a[0] == '-')) {
            return usage();
        } else {
            paths.push_back(a);
        }
    }
    if (paths.empty()) return usage();

    // Unique names: "demo" twice becomes "demo#1" and "demo#2".
    std::map<std::string, int> seen, total;
    for (const auto &p : paths) total[base_name(p)]++;

    try {
        gadgetrt::RuntimeOptions opts;
        opts.log_level = gadgetrt::LogLevel::Warn;
        opts.log = [](const gadgetrt::LogMessage &m) {
            // May run on other threads; stderr writes of one line are fine here.
            std::fprintf(stderr, "[%.*s] %.*s\n", static_cast<int>(m.gadget.size()), m.gadget.data(),
                         static_cast<int>(m.message.size()), m.message.data());
        };
        gadgetrt::Runtime rt(std::move(opts));

        std::vector<Running> gadgets;
        gadgets.reserve(paths.size()); // callbacks keep pointers into this vector
        for (const auto &p : paths) {
            std::string name = base_name(p);
            if (total[name] > 1) name += "#" + std::to_string(++seen[name]);
            gadgets.push_back(Running{name, rt.load(p), 0});
        }

        // Subscribe to every data source each gadget has after gadgetInit.
        for (auto &r : gadgets) {
            Running *rp = &r;
            for (const auto &ds : r.gadget.datasources()) {
                r.gadget.subscribe(ds, 0, [rp](const gadgetrt::EventView &ev) {
                    std::string line = rp->name;
                    line += ' ';
                    line += ev.json();
                    line += '\n';
                    std::fwrite(line.data(), 1, line.size(), stdout);
                    rp->events++;
                });
            }
        }

        // One epoll loop: every gadget's event fd, plus a signalfd for SIGINT/SIGTERM.
        int ep = epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &mask, nullptr);
        int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        const uint64_t kSignal = ~0ULL;
        epoll_event sev{};
        sev.events = EPOLLIN;
        sev.data.u64 = kSignal;
        if (sfd >= 0) epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &sev);
        for (size_t i = 0; i < gadgets.size(); i++) {
            epoll_event e{};
            e.events = EPOLLIN;
            e.data.u64 = i;
            if (epoll_ctl(ep, EPOLL_CTL_ADD, gadgets[i].gadget.event_fd(), &e) != 0)
                throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
        }

        for (auto &r : gadgets) r.gadget.start();

        auto done = [&] {
            if (want == 0) return false;
            for (const auto &r : gadgets)
                if (r.events < want) return false;
            return true;
        };
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        bool interrupted = false;
        while (!done() && !interrupted) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            epoll_event evs[16];
            int n = epoll_wait(ep, evs, 16, static_cast<int>(left.count()));
            if (n < 0) {
                if (errno == EINTR) continue;
                throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
            }
            for (int k = 0; k < n; k++) {
                if (evs[k].data.u64 == kSignal) {
                    interrupted = true;
                    continue;
                }
                gadgets[evs[k].data.u64].gadget.consume(); // callbacks run here, on this thread
            }
        }
        std::fflush(stdout);

        for (auto &r : gadgets) r.gadget.stop();
        for (auto &r : gadgets) r.gadget.consume(); // anything queued before the stop
        std::fflush(stdout);
        if (sfd >= 0) close(sfd);
        close(ep);

        for (const auto &r : gadgets) std::fprintf(stderr, "agent: %s delivered %zu events\n", r.name.c_str(), r.events);
        if (want != 0 && !done()) {
            std::fprintf(stderr, "agent: %s before every gadget delivered %zu events\n",
                         interrupted ? "interrupted" : "timeout", want);
            return 1;
        }
        return 0;
    } catch (const gadgetrt::Error &e) {
        std::fprintf(stderr, "agent: gadgetrt error %u: %s\n", e.code(), e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "agent: %s\n", e.what());
    }
    return 1;
}
