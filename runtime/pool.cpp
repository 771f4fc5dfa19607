// proctor::pool: the blocking facade over the pool's supervisor actor.
#include "proctor/pool.hpp"

#include <caf/send.hpp>

#include "runtime/pool_core.hpp"
#include "runtime/runtime_impl.hpp"
#include "transport/log.hpp"

namespace proctor {

namespace internal {

pool_core::pool_core(runtime_impl& rt, pool_options options) : self_(rt.system()) {
  supervisor_ = spawn_pool_supervisor(rt, std::move(options), status_);
}

pool_core::~pool_core() {
  terminate();
  // Killed workers are reaped at once; the bound only guards against a bug.
  try {
    if (!join(std::chrono::steady_clock::now() + std::chrono::seconds{30}))
      log(log_level::error, "a terminated pool's workers did not end within 30 s");
  } catch (const std::exception& e) {
    log(log_level::error, "ending a pool: ", e.what());
  }
  caf::anon_send_exit(supervisor_, caf::exit_reason::user_shutdown);
}

void pool_core::submit(std::shared_ptr<result_state> result, std::vector<chunk> chunks) {
  {
    std::lock_guard<std::mutex> guard{status_->mtx};
    if (status_->broken)
      throw pool_broken(*status_->broken);
    if (status_->terminated)
      throw pool_terminated("proctor: the pool was terminated");
    if (status_->closed)
      throw error(errc::invalid_state, "proctor: the pool is closed");
  }
  auto s = std::make_shared<submission>(submission{std::move(result), std::move(chunks)});
  caf::anon_send(supervisor_, submit_atom::value, std::move(s));
}

void pool_core::close() {
  {
    // Submissions after this line are refused here, not by the supervisor.
    std::lock_guard<std::mutex> guard{status_->mtx};
    status_->closed = true;
  }
  caf::anon_send(supervisor_, close_pool_atom::value);
}

void pool_core::terminate() {
  {
    std::lock_guard<std::mutex> guard{status_->mtx};
    status_->terminated = true;
  }
  caf::anon_send(supervisor_, terminate_atom::value);
}

bool pool_core::join(std::optional<std::chrono::steady_clock::time_point> deadline) {
  {
    std::lock_guard<std::mutex> guard{status_->mtx};
    if (!status_->closed && !status_->terminated)
      throw error(errc::invalid_state, "proctor: join() before close() or terminate()");
  }
  std::lock_guard<std::mutex> guard{mtx_};
  bool done = false;
  auto timeout = deadline ? caf::duration{std::max(*deadline - std::chrono::steady_clock::now(),
                                                   std::chrono::steady_clock::duration{1})}
                          : caf::infinite;
  self_->request(supervisor_, timeout, join_pool_atom::value)
    .receive([&](bool) { done = true; }, [&](caf::error&) {});
  return done;
}

pool_stats pool_core::stats() {
  std::lock_guard<std::mutex> guard{mtx_};
  pool_stats s;
  self_->request(supervisor_, caf::infinite, stats_atom::value)
    .receive(
      [&](std::vector<std::uint64_t>& v) {
        if (v.size() == 7)
          s = {v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
      },
      [&](caf::error& err) {
        throw error(errc::invalid_state, "proctor: the pool is gone: " + to_string(err));
      });
  return s;
}

} // namespace internal

pool::pool(runtime& rt, pool_options options) {
  if (options.processes == 0)
    options.processes = static_cast<std::size_t>(cpu_count());
  processes_ = options.processes;
  core_ = std::make_shared<internal::pool_core>(rt.impl(), std::move(options));
}

pool::~pool() = default;

std::shared_ptr<internal::result_state>
pool::submit_chunks(std::vector<internal::chunk> chunks) {
  std::vector<std::size_t> items;
  for (auto& c : chunks)
    items.push_back(c.count);
  auto state = std::make_shared<internal::result_state>(std::move(items));
  if (!chunks.empty())
    core_->submit(state, std::move(chunks));
  return state;
}

void pool::submit(const std::shared_ptr<internal::result_state>& state,
                  std::vector<internal::chunk> chunks) {
  core_->submit(state, std::move(chunks));
}

void pool::close() {
  core_->close();
}

void pool::join() {
  core_->join(std::nullopt);
}

bool pool::join(std::chrono::steady_clock::duration timeout) {
  return core_->join(std::chrono::steady_clock::now() + timeout);
}

void pool::terminate() {
  core_->terminate();
}

pool_stats pool::stats() const {
  return core_->stats();
}

} // namespace proctor
