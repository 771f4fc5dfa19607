#pragma once

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

namespace proctor::internal {

// The messages of a table: the actor behind proctor::dict and
// proctor::value. Keys and values are the bytes of serialized values; the
// table compares bytes and never decodes them. A request that fails is
// answered with a caf::error in proctor's category (malformed_payload).
using table_get_atom = caf::atom_constant<caf::atom("t_get")>;     // key -> bool found, value
using table_set_atom = caf::atom_constant<caf::atom("t_set")>;     // key, value -> ()
using table_pop_atom = caf::atom_constant<caf::atom("t_pop")>;     // key -> bool found, value
// key, bool expect_present, expected, bool store, desired -> bool swapped:
// if the key's state is the expected one (absent, or present with exactly
// these bytes), it becomes the desired one (absent, or these bytes).
using table_cas_atom = caf::atom_constant<caf::atom("t_cas")>;
using table_default_atom = caf::atom_constant<caf::atom("t_setdef")>; // key, value -> value now
using table_items_atom = caf::atom_constant<caf::atom("t_items")>; // -> encode_blobs(k0, v0, k1, v1...)
using table_merge_atom = caf::atom_constant<caf::atom("t_merge")>; // encode_blobs(k0, v0...) -> ()
using table_size_atom = caf::atom_constant<caf::atom("t_size")>;   // -> uint64
using table_clear_atom = caf::atom_constant<caf::atom("t_clear")>; // -> ()

/// Spawns an empty table in this process. Entries keep the order in which
/// their keys were first set, as a Python dict does.
caf::actor spawn_table(caf::actor_system& sys);

} // namespace proctor::internal
