#include "trainer/data/clips.h"

#include <algorithm>

namespace mgr {

int64_t ClipStart(int64_t num_samples, int64_t clip_samples, Split split, std::mt19937_64& rng) {
  const int64_t slack = num_samples - clip_samples;
  if (slack <= 0) return 0;
  if (split == Split::kTest) return std::min(num_samples / 2, slack);
  // Half-open [0, slack), as REFERENCE.md section 2 (numpy randint semantics).
  std::uniform_int_distribution<int64_t> start(0, slack - 1);
  return start(rng);
}

}  // namespace mgr
