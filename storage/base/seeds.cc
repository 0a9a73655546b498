#include "storage/base/seeds.h"

namespace mgr {

uint64_t HashName(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t MixSeed(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0;
  for (uint64_t part : parts) {
    // SplitMix64's step and finalizer (Steele, Lea, Flood 2014).
    h += part + 0x9e3779b97f4a7c15ULL;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
  }
  return h;
}

}  // namespace mgr
