// The shared memory blocks of a host (actors/shared/block_table.hpp): the
// root runtime (role master: the master, or a node) keeps the table (made
// once the settings are read) and
// serves its own workers over their links; a worker asks its parent.
// Threads: requests are served on the io thread and never block (a memfd
// is made with a few syscalls); the client calls block their caller for a
// round trip, so never run on the io thread; a release is posted.
#include "runtime/core/runtime_impl.hpp"

#include <caf/node_id.hpp>

#include "actors/errors.hpp"
#include "actors/shared/block_requests.hpp"
#include "actors/shared/block_table.hpp"
#include "actors/wire/loans.hpp"
#include "runtime/core/errors.hpp"
#include "transport/base/segment_pool.hpp"
#include "transport/base/shared_block.hpp"

namespace proctor::internal {

namespace {

caf::error not_served_here() {
  return make_caf_error(errc::bad_argument,
                        "shared memory is served by a host's root process to the workers it "
                        "started, over their own links; this link is not one of those");
}

[[noreturn]] void throw_from(const caf::error& failure, caf::actor_system& sys,
                             const std::string& name) {
  auto [code, detail] = parts_of(failure, sys);
  throw_error(code, "proctor: shared memory \"" + name + "\": " + detail);
}

} // namespace

const std::string& runtime_impl::home_text() const {
  // The node id never changes: rendered once, not per request.
  std::call_once(home_once_, [this] { home_ = caf::to_string(system_->node()); });
  return home_;
}

bool runtime_impl::is_child_link(const link& l) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& child : children_)
    if (child->channel.get() == &l)
      return true;
  return false;
}

void runtime_impl::serve_blocks() {
  // A pool worker's parent gives back the results it borrowed.
  served_.serve<loan_return_request>(
    [this](link& from, loan_return_request& r) -> caf::expected<loan_return_request::reply_type> {
      if (&from != parent_link_)
        return not_served_here();
      if (auto* pool = segment_pool::current())
        pool->returned(r.id);
      return loan_return_request::reply_type{};
    });
  auto grant = [this](caf::expected<block_table::granted> got) -> caf::expected<block_grant> {
    if (!got)
      return std::move(got.error());
    block_grant out;
    out.name = std::move(got->name);
    out.serial = got->serial;
    out.size = got->block->span().size();
    out.home = home_text();
    out.sent.push_back(passed_fd{got->block->fd(), got->block});
    return out;
  };
  auto refused = [this](link& from) {
    return !blocks_ || !from.shares_memory_with(from.peer()) || !is_child_link(from);
  };
  served_.serve<block_create_request>(
    [this, grant, refused](link& from, block_create_request& r) -> caf::expected<block_grant> {
      if (refused(from))
        return not_served_here();
      return grant(blocks_->create(std::move(r.name), r.size, &from));
    });
  served_.serve<block_attach_request>(
    [this, grant, refused](link& from, block_attach_request& r) -> caf::expected<block_grant> {
      if (refused(from))
        return not_served_here();
      if (!r.home.empty() && r.home != home_text())
        return make_caf_error(errc::no_such_block,
                              "the block \"" + r.name + "\" is on another host");
      return grant(blocks_->attach(r.name, r.serial, &from));
    });
  served_.serve<block_release_request>(
    [this, refused](link& from, block_release_request& r)
      -> caf::expected<block_release_request::reply_type> {
      if (refused(from))
        return not_served_here();
      blocks_->release(r.name, r.serial, &from);
      return block_release_request::reply_type{};
    });
  served_.serve<block_unlink_request>(
    [this, refused](link& from, block_unlink_request& r)
      -> caf::expected<block_unlink_request::reply_type> {
      if (refused(from))
        return not_served_here();
      if (auto done = blocks_->unlink(r.name, r.serial); !done)
        return std::move(done.error());
      return block_unlink_request::reply_type{};
    });
}

void runtime_impl::lend_through(const std::shared_ptr<link>& l) {
  std::weak_ptr<link> weak = l;
  l->take_loans(loan_desk::make([weak](std::uint64_t id) {
    // Posted with id 0, which no caller waits for: the answer is dropped.
    if (auto to = weak.lock()) {
      loan_return_request request{id};
      (void) to->send(frame_kind::request,
                      encode_request(0, loan_return_request::kind, encode(request)));
    }
  }));
}

void runtime_impl::block_holder_gone(const link& l) {
  if (auto desk = l.loans())
    desk->forget();
  if (blocks_)
    blocks_->drop_holder(&l);
}

std::shared_ptr<link> runtime_impl::block_root() {
  auto parent = router_->default_route();
  if (!parent)
    throw error(errc::connection_closed,
                "proctor: shared memory: the parent process that serves it is gone");
  return parent;
}

held_block runtime_impl::take_grant(caf::expected<block_grant> reply, const std::string& name) {
  if (!reply)
    throw_from(reply.error(), *system_, name);
  auto release = [&] { release_block(reply->name, reply->serial); };
  if (reply->received.size() != 1) {
    release();
    throw error(errc::malformed_payload,
                "proctor: shared memory \"" + name + "\" was granted without its descriptor");
  }
  std::string why;
  auto block = shared_block::adopt(std::move(reply->received.front()), reply->size,
                                   max_shared_size_, why);
  if (!block) {
    release();
    throw error(errc::malformed_payload, "proctor: shared memory \"" + name + "\": " + why);
  }
  return held_block{std::move(block), std::move(reply->name), reply->serial,
                    std::move(reply->home)};
}

held_block runtime_impl::create_block(const std::string& name, std::uint64_t size) {
  if (blocks_) {
    auto got = blocks_->create(name, size, nullptr);
    if (!got)
      throw_from(got.error(), *system_, name);
    return held_block{std::move(got->block), std::move(got->name), got->serial, home_text()};
  }
  return take_grant(requests_.call(*block_root(), block_create_request{name, size}, std::nullopt),
                    name);
}

held_block runtime_impl::attach_block(const std::string& name, std::uint64_t serial,
                                      const std::string& home) {
  if (blocks_) {
    if (!home.empty() && home != home_text())
      throw error(errc::no_such_block,
                  "proctor: shared memory \"" + name + "\" is on another host");
    auto got = blocks_->attach(name, serial, nullptr);
    if (!got)
      throw_from(got.error(), *system_, name);
    return held_block{std::move(got->block), std::move(got->name), got->serial, home_text()};
  }
  return take_grant(
    requests_.call(*block_root(), block_attach_request{name, serial, home}, std::nullopt), name);
}

void runtime_impl::release_block(const std::string& name, std::uint64_t serial) noexcept {
  if (blocks_) {
    blocks_->release(name, serial, nullptr);
    return;
  }
  // Posted: a destructor must not wait. If the link is down, the root
  // dropped this process's holds with it.
  try {
    if (auto parent = router_->default_route())
      requests_.post(*parent, block_release_request{name, serial});
  } catch (const std::exception&) {
    // Out of memory: the hold stays until this process's link goes.
  }
}

void runtime_impl::unlink_block(const std::string& name, std::uint64_t serial) {
  if (blocks_) {
    if (auto done = blocks_->unlink(name, serial); !done)
      throw_from(done.error(), *system_, name);
    return;
  }
  auto done = requests_.call(*block_root(), block_unlink_request{name, serial}, std::nullopt);
  if (!done)
    throw_from(done.error(), *system_, name);
}

void block_release_gate::release(const std::string& name, std::uint64_t serial) noexcept {
  std::lock_guard<std::mutex> guard{mtx};
  if (rt != nullptr)
    rt->release_block(name, serial);
}

std::size_t runtime_impl::named_blocks() const {
  return blocks_ ? blocks_->size() : 0;
}

} // namespace proctor::internal
