#pragma once

#include "proctor/actor.hpp"
#include "proctor/errc.hpp"
#include "proctor/fd.hpp"
#include "proctor/message_type.hpp"
#include "proctor/pipe.hpp"
#include "proctor/pool.hpp"
#include "proctor/process.hpp"
#include "proctor/queue.hpp"
#include "proctor/runtime.hpp"
#include "proctor/sync.hpp"
#include "proctor/task.hpp"
