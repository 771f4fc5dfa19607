#pragma once

// The internals behind manager.hpp that its templates need; not API.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/deserializer.hpp>
#include <caf/error.hpp>
#include <caf/serializer.hpp>
#include <caf/typed_actor.hpp>

namespace proctor {

class runtime;

template <class T>
class queue;
template <class T>
class joinable_queue;
template <class T>
class simple_queue;
template <class K, class V>
class dict;
template <class T>
class value;
class process_lock;
class process_rlock;
class process_semaphore;
class process_bounded_semaphore;
class process_event;
class process_condition;
class process_barrier;

namespace internal {

template <class T>
constexpr const char* signature_of() {
  return __PRETTY_FUNCTION__;
}

/// How the compiler spells `T` ("int", "std::__cxx11::basic_string<char>").
template <class T>
std::string type_name() {
  std::string_view s = signature_of<T>();
  auto begin = s.find("T = ") + 4;
  return std::string{s.substr(begin, s.rfind(']') - begin)};
}

/// The name under which a manager serves and checks handles of type H: the
/// kind of object and its element types. Undefined for other types: a
/// manager serves handles only.
template <class H>
struct served_type;

#define PROCTOR_SERVED_AS(kind, type)                                          \
  template <>                                                                  \
  struct served_type<type> {                                                   \
    static std::string name() {                                                \
      return kind;                                                             \
    }                                                                          \
  }
PROCTOR_SERVED_AS("lock", process_lock);
PROCTOR_SERVED_AS("rlock", process_rlock);
PROCTOR_SERVED_AS("semaphore", process_semaphore);
PROCTOR_SERVED_AS("bounded_semaphore", process_bounded_semaphore);
PROCTOR_SERVED_AS("event", process_event);
PROCTOR_SERVED_AS("condition", process_condition);
PROCTOR_SERVED_AS("barrier", process_barrier);
PROCTOR_SERVED_AS("actor", caf::actor);
#undef PROCTOR_SERVED_AS

template <class T>
struct served_type<queue<T>> {
  static std::string name() {
    return "queue<" + type_name<T>() + ">";
  }
};

template <class T>
struct served_type<joinable_queue<T>> {
  static std::string name() {
    return "joinable_queue<" + type_name<T>() + ">";
  }
};

template <class T>
struct served_type<simple_queue<T>> {
  static std::string name() {
    return "simple_queue<" + type_name<T>() + ">";
  }
};

template <class K, class V>
struct served_type<dict<K, V>> {
  static std::string name() {
    return "dict<" + type_name<K>() + ", " + type_name<V>() + ">";
  }
};

template <class T>
struct served_type<value<T>> {
  static std::string name() {
    return "value<" + type_name<T>() + ">";
  }
};

template <class... Sigs>
struct served_type<caf::typed_actor<Sigs...>> {
  static std::string name() {
    return type_name<caf::typed_actor<Sigs...>>();
  }
};

class manager_state;
class manager_connection;

using handle_writer = std::function<caf::error(caf::serializer&)>;
using handle_reader = std::function<caf::error(caf::deserializer&)>;

void serve_object(manager_state& m, const std::string& name, std::string type,
                  const handle_writer& write);
void open_object(manager_connection& c, const std::string& name, const std::string& type,
                 const handle_reader& read);

} // namespace internal

} // namespace proctor
