// The outcome of a pool submission, and the errors it turns into.
#include "proctor/async_result.hpp"

#include <algorithm>
#include <numeric>

#include "runtime/core/errors.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

namespace {

/// Waits on `cv` until `ready()`, at most until `deadline` if given.
template <class Ready>
bool wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& guard,
                std::optional<result_state::clock::time_point> deadline, Ready ready) {
  if (!deadline) {
    cv.wait(guard, ready);
    return true;
  }
  return cv.wait_until(guard, *deadline, ready);
}

/// Runs a user's callback: its exception must not take the pool's callback
/// thread down.
template <class F>
void guarded(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    log("pool", log_level::error, "a pool callback threw: ", e.what());
  } catch (...) {
    log("pool", log_level::error, "a pool callback threw");
  }
}

} // namespace

void throw_failure(const task_failure& f) {
  if (f.code == errc::remote_error)
    throw remote_error(f.type, f.what);
  throw_error(f.code, f.what);
}

result_state::result_state(std::vector<std::size_t> items)
  : parts_(items.size()), ready_(items.empty()) {
  for (std::size_t i = 0; i < items.size(); ++i)
    parts_[i].items = items[i];
  items_total_ = std::accumulate(items.begin(), items.end(), std::size_t{0});
}

void result_state::on_done(std::function<void(const result_state&)> callback) {
  std::lock_guard<std::mutex> guard{mtx_};
  on_done_ = std::move(callback);
}

void result_state::complete(std::size_t i, std::vector<char> bytes, segment_refs segments) {
  std::function<void(const result_state&)> callback;
  bool wake;
  std::size_t done;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& p = parts_.at(i);
    if (p.done)
      return;
    p.done = true;
    p.bytes = std::move(bytes);
    p.segments = std::move(segments);
    finished_.push_back(i);
    items_done_ += p.items;
    done = items_done_;
    bool all = finished_.size() == parts_.size();
    if (all) {
      callback = std::move(on_done_);
      // With a callback, the result becomes ready once it has run, as
      // Python's: a caller whose get() returned can rely on its callback.
      ready_ = !callback;
    }
    wake = ready_ || partial_waiters_ > 0;
  }
  // After the unlock: a waiter woken under the lock would block on it at once.
  if (wake)
    changed_.notify_all();
  // Set before submission and never changed: read without the lock.
  if (on_progress_)
    guarded([&] { on_progress_(done, items_total_); });
  if (callback) {
    guarded([&] { callback(*this); });
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ready_ = true;
    }
    changed_.notify_all();
  }
}

void result_state::on_progress(std::function<void(std::size_t, std::size_t)> hook) {
  std::lock_guard<std::mutex> guard{mtx_};
  on_progress_ = std::move(hook);
}

bool result_state::has_callback() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return on_done_ || on_progress_;
}

void result_state::record_failure(std::size_t i, task_failure why) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!parts_.at(i).done)
    parts_[i].failure = std::make_unique<task_failure>(std::move(why));
}


bool result_state::wait(std::optional<clock::time_point> deadline) const {
  std::unique_lock<std::mutex> guard{mtx_};
  return wait_until(changed_, guard, deadline, [&] { return ready_; });
}

bool result_state::wait_part(std::size_t i, std::optional<clock::time_point> deadline) const {
  std::unique_lock<std::mutex> guard{mtx_};
  ++partial_waiters_;
  bool done = wait_until(changed_, guard, deadline, [&] { return parts_.at(i).done; });
  --partial_waiters_;
  return done;
}

std::optional<std::size_t>
result_state::wait_finished(std::size_t n, std::optional<clock::time_point> deadline) const {
  std::unique_lock<std::mutex> guard{mtx_};
  ++partial_waiters_;
  bool done = wait_until(changed_, guard, deadline, [&] { return finished_.size() > n; });
  --partial_waiters_;
  if (!done)
    return std::nullopt;
  return finished_[n];
}

bool result_state::ready() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return ready_;
}

bool result_state::failed() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return std::any_of(parts_.begin(), parts_.end(), [](auto& p) { return p.failure != nullptr; });
}

std::pair<std::size_t, std::size_t> result_state::progress() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {items_done_, items_total_};
}

std::size_t default_chunksize(std::size_t items, std::size_t workers) {
  // Python: chunksize, extra = divmod(len, len(pool) * 4); if extra: += 1
  auto per = std::max<std::size_t>(workers, 1) * 4;
  auto size = items / per + (items % per != 0 ? 1 : 0);
  return std::max<std::size_t>(size, 1);
}

} // namespace proctor::internal
