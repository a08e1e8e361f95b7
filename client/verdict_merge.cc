#include "client/verdict_merge.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace trailsentry {

VerdictMerge::VerdictMerge(v1::EvaluateResponse* into, int events) : into_(into) {
  for (int i = into_->verdicts_size(); i < events; ++i) into_->add_verdicts()->set_index(i);
  for (int i = 0; i < into_->alerts_size(); ++i) {
    alert_index_.emplace(into_->alerts(i).alert().alert_id(), i);
  }
}

absl::Status VerdictMerge::Add(const std::vector<int>& indexes, v1::EvaluateResponse part) {
  if (part.verdicts_size() != static_cast<int>(indexes.size())) {
    return absl::InternalError(absl::StrCat("a part of ", indexes.size(),
                                            " events was answered with ", part.verdicts_size(),
                                            " verdicts"));
  }
  for (size_t i = 0; i < indexes.size(); ++i) {
    v1::Verdict* v = into_->mutable_verdicts(indexes[i]);
    v->Swap(part.mutable_verdicts(static_cast<int>(i)));
    v->set_index(indexes[i]);
  }
  for (v1::AlertChange& change : *part.mutable_alerts()) {
    auto [it, inserted] = alert_index_.emplace(change.alert().alert_id(), into_->alerts_size());
    if (inserted) {
      *into_->add_alerts() = std::move(change);
      continue;
    }
    // Updated again by a later part: its latest state, NEW if any part opened it.
    v1::AlertChange& kept = *into_->mutable_alerts(it->second);
    const bool opened = kept.kind() == v1::AlertChange::NEW;
    kept = std::move(change);
    if (opened) kept.set_kind(v1::AlertChange::NEW);
  }
  return absl::OkStatus();
}

void VerdictMerge::Fail(const std::vector<int>& indexes, std::string_view why) {
  for (int i : indexes) {
    v1::Verdict* v = into_->mutable_verdicts(i);
    v->Clear();
    v->set_index(i);
    v->set_status(v1::Verdict::REJECTED);
    v->set_reject_field("account");
    v->set_reject_reason(
        absl::StrCat("account: not evaluated: ", absl::string_view(why.data(), why.size())));
  }
}

void VerdictMerge::Finish() {
  int rejected = 0;
  for (const v1::Verdict& v : into_->verdicts()) rejected += v.status() == v1::Verdict::REJECTED;
  into_->set_rejected(rejected);
  into_->set_accepted(into_->verdicts_size() - rejected);
}

}  // namespace trailsentry
