// proctor::pool: the blocking facade over the pool's supervisor actor.
#include "proctor/pool.hpp"

#include "runtime/pool/pool_core.hpp"
#include "runtime/core/runtime_impl.hpp"

namespace proctor {


pool::pool(runtime& rt, pool_options options) {
  if (options.processes == 0 && options.nodes.empty())
    options.processes = static_cast<std::size_t>(cpu_count());
  processes_ = options.processes;
  for (auto& id : options.nodes) {
    auto cores = internal::impl_of(rt).node_cores(id);
    if (!cores)
      throw error(errc::node_down, "proctor: no node " + id + " is alive");
    processes_ += options.processes_per_node != 0 ? options.processes_per_node : *cores;
  }
  core_ = internal::pool_core::make(internal::impl_of(rt), std::move(options));
}

pool::~pool() {
  core_->shutdown();
}

std::shared_ptr<internal::result_state>
pool::submit_chunks(std::vector<internal::chunk> chunks,
                    std::function<void(std::size_t, std::size_t)> on_progress,
                    std::function<void(const internal::result_state&)> on_done) {
  std::vector<std::size_t> items;
  items.reserve(chunks.size());
  for (auto& c : chunks)
    items.push_back(c.count);
  auto state = std::make_shared<internal::result_state>(std::move(items));
  if (on_progress)
    state->on_progress(std::move(on_progress));
  if (chunks.empty()) {
    if (on_done)
      on_done(*state); // nothing will complete it
    return state;
  }
  if (on_done)
    state->on_done(std::move(on_done));
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
