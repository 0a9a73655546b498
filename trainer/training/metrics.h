// Classification metrics from a confusion matrix: accuracy, per-class precision and
// recall, macro F1 (the unweighted mean of per-class F1; a class with no predictions and
// no examples contributes F1 0, as sklearn's zero_division=0).
#ifndef MGR_TRAINER_TRAINING_METRICS_H_
#define MGR_TRAINER_TRAINING_METRICS_H_

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace mgr {

// Counts of (true label, predicted label). Not thread-safe.
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int num_classes);

  // labels, predictions: (B) integer tensors of the same size, any device.
  void Add(const torch::Tensor& labels, const torch::Tensor& predictions);
  void Add(int64_t label, int64_t prediction);

  int num_classes() const { return num_classes_; }
  int64_t total() const;
  // counts()[true][predicted]
  const std::vector<std::vector<int64_t>>& counts() const { return counts_; }

  double Accuracy() const;                // 0 when empty
  std::vector<double> Precision() const;  // per class; 0 when the class was never predicted
  std::vector<double> Recall() const;     // per class; 0 when the class has no examples
  std::vector<double> F1() const;         // per class; 0 when precision + recall is 0
  double MacroF1() const;

 private:
  int num_classes_;
  std::vector<std::vector<int64_t>> counts_;
};

}  // namespace mgr

#endif  // MGR_TRAINER_TRAINING_METRICS_H_
