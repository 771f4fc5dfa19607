// A message frame whose element does not decode is refused, not delivered
// empty (CAF 0.17 drops the element's error and yields an empty message).
#include "actors/remote/router.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deserializer.hpp>
#include <caf/make_message.hpp>
#include <caf/message_id.hpp>
#include <caf/sec.hpp>

#include "actors/errors.hpp"
#include "actors/remote/link.hpp"
#include "proctor/errc.hpp"

using namespace proctor::internal;

namespace {

/// Encodes as an int; never decodes.
struct refusing {
  int x = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, refusing& x) {
  if constexpr (std::is_base_of_v<caf::deserializer, Inspector>) {
    if (auto err = f(x.x))
      return err;
    return caf::make_error(caf::sec::invalid_argument, "refused");
  } else {
    return f(x.x);
  }
}

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<router> r;
  std::shared_ptr<proctor::internal::link> from;

  fixture() {
    cfg.add_message_type<refusing>("refusing");
    sys = std::make_unique<caf::actor_system>(cfg);
    r = std::make_unique<router>(*sys);
    from = std::make_shared<proctor::internal::link>(*r, nullptr, [](proctor::internal::link&, std::error_code, std::string) {});
  }

  ~fixture() {
    r->link_down(*from, make_caf_error(proctor::errc::connection_closed, "test done"));
  }

  /// A message frame for actor 42 of this node (which does not exist).
  std::vector<char> frame(caf::message content) {
    std::vector<char> buf;
    caf::binary_serializer sink{*sys, buf};
    auto node = sys->node();
    caf::actor_id aid = 42;
    caf::strong_actor_ptr sender;
    caf::message_id mid;
    std::vector<caf::strong_actor_ptr> stages;
    EXPECT_FALSE(sink(node, aid, sender, mid, stages, content));
    return buf;
  }
};

} // namespace

TEST(router, a_message_whose_element_does_not_decode_is_refused) {
  fixture f;
  auto bad = f.frame(caf::make_message(1, refusing{7}, 2));
  EXPECT_EQ(f.r->handle(*f.from, frame_kind::message, bad),
            make_error_code(proctor::errc::malformed_payload));
  // An empty message and an ordinary one pass.
  auto empty = f.frame(caf::message{});
  EXPECT_FALSE(f.r->handle(*f.from, frame_kind::message, empty));
  auto fine = f.frame(caf::make_message(1, std::string{"two"}));
  EXPECT_FALSE(f.r->handle(*f.from, frame_kind::message, fine));
}
