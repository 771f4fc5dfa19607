// small_frames: run with --proctor.max-frame-size=65536. Records that each fit
// a frame alone but not together cross pools and queues in several batches;
// one larger than a frame fails its own call at once. Prints one line per
// check: "NAME ok" or "NAME failed: WHY".
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include "proctor/actor.hpp"
#include "proctor/pool.hpp"
#include "proctor/process.hpp"
#include "proctor/queue.hpp"
#include "proctor/runtime.hpp"

namespace {

using namespace std::chrono_literals;

constexpr auto limit = 30s;
constexpr std::size_t item_bytes = 40 * 1000;
constexpr int items = 8;

std::size_t sf_length(std::string s) {
  return s.size();
}
PROCTOR_TASK(sf_length);

std::string sf_bytes(std::size_t n) {
  return std::string(n, 'x');
}
PROCTOR_TASK(sf_bytes);

// Takes an argument: CAF 0.17 spawns a function without arguments through a
// null shared_ptr (UBSan rejects it).
caf::behavior sf_measure(caf::event_based_actor*) {
  return {[](const std::string& s) { return s.size(); }};
}
PROCTOR_ACTOR(sf_measure);

/// Gets `n` items from `in`, puts the sum of their lengths to `out`.
void sf_drain(proctor::queue<std::string> in, proctor::queue<std::size_t> out, int n) {
  std::size_t total = 0;
  for (int i = 0; i < n; ++i)
    total += in.get(limit).size();
  out.put(total);
}
PROCTOR_TASK(sf_drain);

/// Puts `n` items of item_bytes to `out`.
void sf_fill(proctor::queue<std::string> out, int n) {
  for (int i = 0; i < n; ++i)
    out.put(std::string(item_bytes, 'q'));
}
PROCTOR_TASK(sf_fill);

template <class F>
void check(const char* name, F f) {
  try {
    if (f())
      std::printf("%s ok\n", name);
    else
      std::printf("%s failed: wrong answer\n", name);
  } catch (const proctor::error& e) {
    std::printf("%s failed: %s %s\n", name, proctor::to_string(e.code()), e.what());
  }
  std::fflush(stdout);
}

bool fails_with(proctor::errc code, auto f) {
  try {
    f();
  } catch (const proctor::error& e) {
    return e.code() == code;
  }
  return false;
}

} // namespace

namespace proctor::testing {

int small_frames_helper(runtime& rt, const std::vector<std::string>&) {
  proctor::pool p{rt, {.processes = 1}};
  check("pool_arguments", [&] {
    std::vector<proctor::async_result<std::size_t>> results;
    for (int i = 0; i < items; ++i)
      results.push_back(p.apply_async(sf_length, std::string(item_bytes, 'a')));
    for (auto& r : results)
      if (r.get(limit) != item_bytes)
        return false;
    return true;
  });
  check("pool_results", [&] {
    std::vector<proctor::async_result<std::string>> results;
    for (int i = 0; i < items; ++i)
      results.push_back(p.apply_async(sf_bytes, item_bytes));
    for (auto& r : results)
      if (r.get(limit).size() != item_bytes)
        return false;
    return true;
  });
  check("pool_argument_too_large", [&] {
    return fails_with(errc::frame_too_large,
                      [&] { p.apply_async(sf_length, std::string(70'000, 'b')); })
           && p.apply_async(sf_length, std::string("abc")).get(limit) == 3;
  });
  check("pool_result_too_large", [&] {
    auto r = p.apply_async(sf_bytes, std::size_t{70'000});
    return fails_with(errc::frame_too_large, [&] { r.get(limit); })
           && p.apply_async(sf_bytes, std::size_t{2}).get(limit) == "xx";
  });
  check("queue_to_another_process", [&] {
    proctor::queue<std::string> q{rt};
    proctor::queue<std::size_t> total{rt};
    proctor::process child{rt, sf_drain, q, total, items};
    child.start();
    for (int i = 0; i < items; ++i)
      q.put(std::string(item_bytes, 'c'));
    bool ok = total.get(limit) == items * item_bytes;
    child.join(limit);
    return ok;
  });
  check("queue_from_another_process", [&] {
    proctor::queue<std::string> q{rt};
    proctor::process child{rt, sf_fill, q, items};
    child.start();
    std::size_t got = 0;
    for (int i = 0; i < items; ++i)
      got += q.get(limit).size();
    child.join(limit);
    return got == items * item_bytes;
  });
  check("queue_item_too_large", [&] {
    proctor::queue<std::string> q{rt};
    return fails_with(errc::frame_too_large, [&] { q.put(std::string(70'000, 'd')); });
  });
  check("actor_request_too_large", [&] {
    auto actor = rt.spawn_in_process(sf_measure);
    caf::scoped_actor self{rt.system()};
    std::optional<errc> failed;
    self->request(actor, limit, std::string(70'000, 'e'))
      .receive([](std::size_t) {},
               [&](caf::error& err) {
                 failed = err.category() == caf::atom("proctor")
                            ? static_cast<errc>(err.code())
                            : errc::ok;
               });
    std::size_t answer = 0;
    self->request(actor, limit, std::string(10, 'f'))
      .receive([&](std::size_t n) { answer = n; }, [](caf::error&) {});
    caf::anon_send_exit(actor, caf::exit_reason::kill);
    return failed == errc::frame_too_large && answer == 10;
  });
  check("actor_message_too_large", [&] {
    auto actor = rt.spawn_in_process(sf_measure);
    caf::scoped_actor self{rt.system()};
    self->monitor(actor);
    self->send(actor, std::string(70'000, 'g'));
    std::optional<errc> down;
    self->receive(
      [&](caf::down_msg& msg) {
        down = msg.reason.category() == caf::atom("proctor")
                 ? static_cast<errc>(msg.reason.code())
                 : errc::ok;
      },
      caf::after(limit) >> [] {});
    caf::anon_send_exit(actor, caf::exit_reason::kill);
    return down == errc::frame_too_large;
  });
  return 0;
}

} // namespace proctor::testing
