// shmctl serve: GET /metrics (Prometheus text, as shmctl metrics) and GET /healthz over HTTP
// (cpp-httplib), for Prometheus scrapes and a Pod's probes. Every request takes a fresh,
// read-only look at the rings: a ring removed or re-created in the meantime is seen as it is now.
#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "shmctl.h"
#include "shmring/ring.h"

#include <pthread.h>
#include <unistd.h>

#include <thread>

#include <httplib.h>

namespace shmctl {

namespace {

// The metrics of the rings that can be read; the others as exposition-format comments.
std::string Metrics(const std::vector<std::string>& rings) {
  std::vector<shmring::RingStats> stats;
  std::string errors;
  for (const std::string& name : rings) {
    auto s = ReadStats(name);
    if (s.ok()) {
      stats.push_back(std::move(*s));
    } else {
      std::string msg(SV(s.status().message()));
      for (char& c : msg) {
        if (c == '\n') c = ' ';
      }
      absl::StrAppend(&errors, "# shmctl: cannot read ring ", name, ": ", msg, "\n");
    }
  }
  return errors + RenderPrometheus(stats);
}

// "HOST:PORT" or "[V6]:PORT" -> host, port (0 .. 65535).
std::pair<std::string, int> ParseListen(const std::string& v) {
  const size_t colon = v.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(v.substr(colon + 1), &port) || port > 65535) {
    throw UsageError(absl::StrCat("--listen '", v, "': expected HOST:PORT such as 127.0.0.1:9464 (port 0 picks one)"));
  }
  std::string host = v.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, int(port)};
}

}  // namespace

int RunServe(const std::vector<std::string>& argv) {
  const Args a = Args::Parse("serve", argv, {{"listen", true}});
  a.ExpectPositional(1, SIZE_MAX, "RING (one or more)");
  if (!a.Has("listen")) throw UsageError("missing --listen HOST:PORT (e.g. 127.0.0.1:9464; port 0 picks a free one)");
  const auto [host, port] = ParseListen(*a.Get("listen"));
  const std::vector<std::string> rings = a.positional();
  // Make sure the rings exist now: a typo should fail at start, not in every probe.
  for (const std::string& name : rings) {
    auto r = shmring::Ring::Open(name, {.read_only = true});
    if (!r.ok()) return Fail(r.status());
  }

  httplib::Server server;
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(Metrics(rings), "text/plain; version=0.0.4");
  });
  server.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    const std::vector<std::string> problems = Health(rings);
    res.status = problems.empty() ? 200 : 503;
    res.set_content(problems.empty() ? std::string("ok\n") : absl::StrJoin(problems, "\n") + "\n", "text/plain");
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("shmctl serve: GET /metrics (Prometheus text), GET /healthz (200 ok or 503 with reasons)\n",
                    "text/plain");
  });

  // SIGINT and SIGTERM are blocked in every thread (the server's workers inherit the mask)
  // and taken synchronously by this one, which then stops the server gracefully.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) return Fail(absl::StrCat("serve: cannot listen on ", host, ":", port));
  std::cout << "listening on " << (host.find(':') != std::string::npos ? "[" + host + "]" : host) << ":" << bound
            << std::endl;

  bool listen_ok = true;
  std::thread listener([&] {
    listen_ok = server.listen_after_bind();
    if (!listen_ok) kill(getpid(), SIGTERM);  // wake the sigwait below
  });
  int sig = 0;
  sigwait(&stop, &sig);
  std::cerr << "shmctl: serve: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping\n";
  server.stop();
  listener.join();
  return listen_ok ? kExitOk : Fail("serve: the HTTP server failed");
}

}  // namespace shmctl
