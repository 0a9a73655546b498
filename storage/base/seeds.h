// Seeds derived from names and numbers, the same in every process and build: the samplers'
// per-trial streams and the trainer's per-epoch and per-batch streams.
#ifndef MGR_STORAGE_BASE_SEEDS_H_
#define MGR_STORAGE_BASE_SEEDS_H_

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace mgr {

// FNV-1a 64 of a name: stable across processes and builds, unlike std::hash.
uint64_t HashName(std::string_view name);

// SplitMix64 over the parts in order: nearby inputs (seeds 0 and 1, trials 4 and 5) give
// unrelated seeds, and the order of the parts matters.
uint64_t MixSeed(std::initializer_list<uint64_t> parts);

}  // namespace mgr

#endif  // MGR_STORAGE_BASE_SEEDS_H_
