// Clip windows: which part of a track a network sees (REFERENCE.md section 2).
#ifndef MGR_TRAINER_DATA_CLIPS_H_
#define MGR_TRAINER_DATA_CLIPS_H_

#include <cstdint>
#include <random>

#include "trainer/data/fma_metadata.h"

namespace mgr {

// First sample of the clip: uniform in [0, num_samples - clip_samples) for training and
// validation, num_samples / 2 (clamped so the clip fits) for test. All values in samples.
// A track exactly one clip long (or shorter) starts at 0. Draws from `rng` only for the
// training and validation splits.
int64_t ClipStart(int64_t num_samples, int64_t clip_samples, Split split, std::mt19937_64& rng);

}  // namespace mgr

#endif  // MGR_TRAINER_DATA_CLIPS_H_
