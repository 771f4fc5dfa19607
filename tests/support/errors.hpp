#pragma once

#include "proctor/errc.hpp"

namespace proctor::testing {

/// The code of the proctor::error that `call` throws; errc::ok if none.
errc error_of(auto&& call) {
  try {
    call();
  } catch (const error& e) {
    return e.code();
  }
  return errc::ok;
}

} // namespace proctor::testing
