// gatherRows(pages, width, slots, targets): copies stored rows into per-call arrays, synchronously
// on the calling thread. Row `slot` of a paged store is floats [(slot % pageRows)·width, +width) of
// pages[slot / pageRows]; it is split into targets.length equal parts, and part p goes to row i of
// targets[p] for slots[i] (a negative slot leaves row i as it is). The caches that call it (the
// feature tower's outputs, the in-process embedding memory) are read once per matchPool call, for
// every user of the pool, and by then their rows are cold: copied one row at a time from
// JavaScript each row waited for memory on its own (N = 2,000: ~1.7 ms a store), where this loop
// asks for the next rows before it copies the current one.
#pragma once

#include <napi.h>

namespace kindred::addon {

Napi::Value gather_rows(const Napi::CallbackInfo& info);

}  // namespace kindred::addon
