// The account whose state an event belongs to (spec §3): userIdentity.accountId,
// else the account in userIdentity.arn, else recipientAccountId. Every identity
// belongs to one account, and the account baseline is the only state identities
// share, so events routed by this key can be evaluated account by account, on
// any number of streams or replicas, with the results of one.
//
//   std::string_view account = EventAccount(ev.account_id, ev.arn, ev.recipient_account_id);
//   RecordAccountReader reader;
//   std::string_view routed = reader.Read(padded_line);  // from raw JSON, no DOM
#ifndef TRAILSENTRY_SERVER_ENGINE_RECORD_ACCOUNT_H_
#define TRAILSENTRY_SERVER_ENGINE_RECORD_ACCOUNT_H_

#include <simdjson.h>

#include <string>
#include <string_view>

namespace trailsentry::engine {

std::string_view EventAccount(std::string_view account_id, std::string_view arn,
                              std::string_view recipient_account_id);

// Reads the account of raw CloudTrail records (EventBridge envelopes unwrapped)
// in one pass over their keys, without building a DOM. Reused across records;
// not thread-safe.
class RecordAccountReader {
 public:
  // `json.size() + simdjson::SIMDJSON_PADDING` bytes must be readable from
  // json.data() (`capacity` says how many are). "" when the record is not a JSON
  // object or names no account. The view is valid until the next call.
  std::string_view Read(std::string_view json, size_t capacity);

 private:
  struct Fields {
    std::string account_id, arn, recipient;
    bool present = false;
    void Clear() {
      account_id.clear();
      arn.clear();
      recipient.clear();
      present = false;
    }
  };
  // One level's fields; at the top level (`detail` set) also an envelope's.
  bool ReadFields(simdjson::ondemand::object obj, Fields& out, Fields* detail, bool& envelope);

  simdjson::ondemand::parser parser_;
  Fields top_, detail_;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_RECORD_ACCOUNT_H_
