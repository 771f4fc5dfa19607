// The link request layer: a reply counts only on the link its request
// went out on, so a peer that guesses request ids answers nothing (and a
// descriptor it sends along is closed, never handed to the caller).
#include "actors/remote/link_requests.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include "actors/remote/link.hpp"
#include "actors/remote/router.hpp"
#include "actors/shared/block_requests.hpp"
#include "tests/support/runtime.hpp"
#include "transport/base/shared_block.hpp"

using namespace std::chrono_literals;
using namespace proctor::internal;

namespace {

/// A successful reply frame to request `id` granting `grant`.
std::vector<char> grant_reply(std::uint64_t id, block_grant& grant) {
  auto code = std::uint8_t{0};
  std::string detail;
  auto out = encode(id, code, detail);
  auto fields = encode(grant);
  out.insert(out.end(), fields.begin(), fields.end());
  return out;
}

} // namespace

TEST(link_requests, a_reply_on_another_link_than_the_requests_is_dropped) {
  router routes{proctor::testing::test_runtime().system()};
  // Links never attached: the request is not sent, the caller waits for
  // its reply (or its link's close), which the test plays.
  auto asked = std::make_shared<proctor::internal::link>(routes, nullptr, nullptr);
  auto other = std::make_shared<proctor::internal::link>(routes, nullptr, nullptr);
  link_requests requests;
  auto call = std::async(std::launch::async, [&] {
    return requests.call(*asked, block_attach_request{"b", 0, {}}, 30s);
  });
  auto forged = shared_block::create(4096);
  auto mine = shared_block::create(4096);
  // Request ids start at 1: a peer guesses it and answers first, on its own
  // link, with a block of its own, again and again; the real answer comes
  // late, and again until it is taken.
  block_grant lie{"b", 7, 4096, "", {}, {}};
  block_grant truth{"b", 8, 4096, "", {}, {}};
  for (int i = 0; i < 1000 && call.wait_for(1ms) != std::future_status::ready; ++i) {
    std::vector<scoped_fd> fds;
    fds.emplace_back(::dup(forged->fd()));
    ASSERT_FALSE(requests.on_reply(*other, grant_reply(1, lie), std::move(fds)));
    if (i >= 50) {
      std::vector<scoped_fd> real;
      real.emplace_back(::dup(mine->fd()));
      ASSERT_FALSE(requests.on_reply(*asked, grant_reply(1, truth), std::move(real)));
    }
  }
  auto reply = call.get();
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(reply->serial, 8u);
  ASSERT_EQ(reply->received.size(), 1u);
  struct stat got{};
  struct stat want{};
  ::fstat(reply->received[0].get(), &got);
  ::fstat(mine->fd(), &want);
  EXPECT_EQ(got.st_ino, want.st_ino);
}
