// A log-linear latency histogram (HdrHistogram-style): values are bucketed by
// their power of two, each power split into kSub linear sub-buckets, so the
// relative error is at most 1/kSub. Plain data, fixed size: it can live in a
// MAP_SHARED page and be filled by a child process.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace bench {

class Hist {
 public:
  static constexpr int kSubBits = 5;  // 32 sub-buckets: <= 3.1% error
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kExps = 44;  // up to 2^44 ns (~4.8 h)
  static constexpr int kBuckets = kExps * kSub;

  Hist() { Clear(); }
  void Clear() { memset(static_cast<void*>(this), 0, sizeof(*this)); }

  void Record(uint64_t v) {
    counts_[Index(v)]++;
    count_++;
    sum_ += v;
    max_ = std::max(max_, v);
    min_ = count_ == 1 ? v : std::min(min_, v);
  }

  void Merge(const Hist& o) {
    for (int i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    if (o.count_) {
      min_ = count_ ? std::min(min_, o.min_) : o.min_;
      max_ = std::max(max_, o.max_);
    }
    count_ += o.count_;
    sum_ += o.sum_;
  }

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  uint64_t min() const { return min_; }
  double mean() const { return count_ ? double(sum_) / double(count_) : 0.0; }

  // The value at quantile q (0..1): the upper edge of the bucket holding it (clamped to max).
  uint64_t Quantile(double q) const {
    if (count_ == 0) return 0;
    uint64_t rank = uint64_t(q * double(count_));
    if (rank >= count_) rank = count_ - 1;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen > rank) return std::min(UpperEdge(i), max_);
    }
    return max_;
  }

 private:
  static int Index(uint64_t v) {
    if (v < kSub) return int(v);
    const int msb = 63 - __builtin_clzll(v);  // >= kSubBits
    const int shift = msb - kSubBits;
    int e = shift + 1;
    if (e >= kExps) return kBuckets - 1;
    return e * kSub + int((v >> shift) - kSub);
  }
  static uint64_t UpperEdge(int i) {
    const int e = i / kSub, s = i % kSub;
    if (e == 0) return uint64_t(s);
    const int shift = e - 1;
    return ((uint64_t(kSub + s) + 1) << shift) - 1;
  }

  uint64_t counts_[kBuckets];
  uint64_t count_, sum_, max_, min_;
};

}  // namespace bench
