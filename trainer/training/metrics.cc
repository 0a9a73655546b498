#include "trainer/training/metrics.h"

#include <stdexcept>
#include <string>

namespace mgr {

ConfusionMatrix::ConfusionMatrix(int num_classes)
    : num_classes_(num_classes), counts_(num_classes, std::vector<int64_t>(num_classes, 0)) {}

void ConfusionMatrix::Add(int64_t label, int64_t prediction) {
  if (label < 0 || label >= num_classes_ || prediction < 0 || prediction >= num_classes_) {
    throw std::out_of_range("ConfusionMatrix: class " + std::to_string(label) + "/" +
                            std::to_string(prediction) + " outside [0, " +
                            std::to_string(num_classes_) + ")");
  }
  ++counts_[label][prediction];
}

void ConfusionMatrix::Add(const torch::Tensor& labels, const torch::Tensor& predictions) {
  torch::Tensor l = labels.to(torch::kCPU, torch::kLong).contiguous().view(-1);
  torch::Tensor p = predictions.to(torch::kCPU, torch::kLong).contiguous().view(-1);
  if (l.numel() != p.numel()) throw std::invalid_argument("ConfusionMatrix: size mismatch");
  const int64_t* lp = l.data_ptr<int64_t>();
  const int64_t* pp = p.data_ptr<int64_t>();
  for (int64_t i = 0; i < l.numel(); ++i) Add(lp[i], pp[i]);
}

int64_t ConfusionMatrix::total() const {
  int64_t n = 0;
  for (const auto& row : counts_) {
    for (int64_t c : row) n += c;
  }
  return n;
}

double ConfusionMatrix::Accuracy() const {
  const int64_t n = total();
  if (n == 0) return 0;
  int64_t correct = 0;
  for (int i = 0; i < num_classes_; ++i) correct += counts_[i][i];
  return static_cast<double>(correct) / static_cast<double>(n);
}

std::vector<double> ConfusionMatrix::Precision() const {
  std::vector<double> out(num_classes_, 0.0);
  for (int c = 0; c < num_classes_; ++c) {
    int64_t predicted = 0;
    for (int t = 0; t < num_classes_; ++t) predicted += counts_[t][c];
    if (predicted > 0) out[c] = static_cast<double>(counts_[c][c]) / predicted;
  }
  return out;
}

std::vector<double> ConfusionMatrix::Recall() const {
  std::vector<double> out(num_classes_, 0.0);
  for (int c = 0; c < num_classes_; ++c) {
    int64_t actual = 0;
    for (int p = 0; p < num_classes_; ++p) actual += counts_[c][p];
    if (actual > 0) out[c] = static_cast<double>(counts_[c][c]) / actual;
  }
  return out;
}

std::vector<double> ConfusionMatrix::F1() const {
  std::vector<double> p = Precision(), r = Recall(), out(num_classes_, 0.0);
  for (int c = 0; c < num_classes_; ++c) {
    if (p[c] + r[c] > 0) out[c] = 2 * p[c] * r[c] / (p[c] + r[c]);
  }
  return out;
}

double ConfusionMatrix::MacroF1() const {
  if (num_classes_ == 0) return 0;
  double sum = 0;
  for (double f : F1()) sum += f;
  return sum / num_classes_;
}

}  // namespace mgr
