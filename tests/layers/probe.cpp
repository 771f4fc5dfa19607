// Compiled as if it were a source of one layer (or an example): includes
// the header PROCTOR_PROBE_INCLUDE names, and nothing else.
#include PROCTOR_PROBE_INCLUDE

int proctor_layer_probe() {
  return 0;
}
