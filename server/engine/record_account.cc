#include "server/engine/record_account.h"

#include "trailsentry/shard_key.h"

namespace trailsentry::engine {
namespace {

using simdjson::SUCCESS;
using simdjson::ondemand::object;
using simdjson::ondemand::value;

// Copies a string value into `out`; anything else leaves it empty.
void ReadString(value v, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s) == SUCCESS) out.assign(s);
}

}  // namespace

std::string_view EventAccount(std::string_view account_id, std::string_view arn,
                              std::string_view recipient_account_id) {
  if (!account_id.empty()) return account_id;
  if (std::string_view from_arn = ArnAccount(arn); !from_arn.empty()) return from_arn;
  return recipient_account_id;
}

bool RecordAccountReader::ReadFields(object obj, Fields& out, Fields* detail, bool& envelope) {
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != SUCCESS) return false;
    if (key == "userIdentity") {
      object identity;
      if (field.value().get_object().get(identity) != SUCCESS) continue;
      for (auto member : identity) {
        std::string_view name;
        if (member.unescaped_key().get(name) != SUCCESS) return false;
        if (name == "accountId") {
          ReadString(member.value(), out.account_id);
        } else if (name == "arn") {
          ReadString(member.value(), out.arn);
        }
      }
    } else if (key == "recipientAccountId") {
      ReadString(field.value(), out.recipient);
    } else if (detail != nullptr && key == "detail-type") {
      envelope = true;
    } else if (detail != nullptr && key == "detail") {
      object inner;
      if (field.value().get_object().get(inner) != SUCCESS) continue;
      bool unused = false;
      if (!ReadFields(inner, *detail, nullptr, unused)) return false;
      detail->present = true;
    }
  }
  return true;
}

std::string_view RecordAccountReader::Read(std::string_view json, size_t capacity) {
  top_.Clear();  // keeps the strings' buffers: no allocation per record
  detail_.Clear();
  if (capacity < json.size() + simdjson::SIMDJSON_PADDING) return {};
  simdjson::ondemand::document doc;
  if (parser_.iterate(json.data(), json.size(), capacity).get(doc) != SUCCESS) return {};
  object record;
  if (doc.get_object().get(record) != SUCCESS) return {};
  bool envelope = false;
  if (!ReadFields(record, top_, &detail_, envelope)) return {};
  // Only an envelope ("detail-type" beside "detail") is unwrapped, as the parser
  // does: in any other record "detail" is an ordinary field.
  const Fields& f = envelope && detail_.present ? detail_ : top_;
  return EventAccount(f.account_id, f.arn, f.recipient);
}

}  // namespace trailsentry::engine
