// Keys of trailsentry's RocksDB column families: tenant first, every variable
// component length-prefixed (varint32), times big-endian so keys sort by time.
//
//   std::string k = keys::Baseline("default", "arn:aws:iam::1:user/a", network);
//   std::string p = keys::IdentityPrefix("default", "arn:aws:iam::1:user/a");
#ifndef TRAILSENTRY_STORAGE_KEYS_H_
#define TRAILSENTRY_STORAGE_KEYS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/engine/network.h"
#include "server/engine/state_store.h"

namespace trailsentry::storage::keys {

// Appends varint32(length) + bytes.
void AppendComponent(std::string& key, std::string_view component);
// Reads one component at `pos`, advancing it; nullopt when malformed.
std::optional<std::string_view> ReadComponent(std::string_view key, size_t& pos);
void AppendBigEndian64(std::string& key, uint64_t v);
uint64_t ReadBigEndian64(std::string_view bytes);

// tenant | identity: the profile key, and the prefix of the identity's entries.
std::string Identity(std::string_view tenant, std::string_view identity);
// The same keys appended to `key` (no allocation once `key` has grown).
void AppendIdentity(std::string& key, std::string_view tenant, std::string_view identity);
// A network as keys hold it: one tag byte (the IPv4 prefix 0..32, or 64 + the
// IPv6 prefix) and the address's 4 or 16 bytes. Empty: no network.
struct NetworkBytes {
  std::array<char, 17> bytes{};
  uint8_t size = 0;
  std::string_view view() const { return {bytes.data(), size}; }
};
NetworkBytes EncodeNetwork(const engine::Network& network);
void AppendNetwork(std::string& key, const engine::Network& network);
// tenant | identity | network
std::string Baseline(std::string_view tenant, std::string_view identity,
                     const engine::Network& network);
// tenant | account | network
std::string AccountBaseline(std::string_view tenant, std::string_view account,
                            const engine::Network& network);
// tenant | scope | name | network
std::string Trusted(std::string_view tenant, engine::TrustScope scope, std::string_view name,
                    const engine::Network& network);
std::string TrustedPrefix(std::string_view tenant, engine::TrustScope scope, std::string_view name);
// tenant | alert id
std::string Alert(std::string_view tenant, std::string_view alert_id);
// tenant | opened_at | alert id  (index by time)
std::string AlertByTime(std::string_view tenant, int64_t opened_at, std::string_view alert_id);
// tenant | identity | opened_at | alert id  (index by identity)
std::string AlertByIdentity(std::string_view tenant, std::string_view identity, int64_t opened_at,
                            std::string_view alert_id);
std::string Tenant(std::string_view tenant);

// tenant | identity | kind (1 byte) | time (big-endian) | id hash (big-endian)
std::string EventLog(std::string_view tenant, std::string_view identity, engine::LogKind kind,
                     engine::EventTime time, uint64_t id_hash);
// tenant | identity | kind: the prefix of one kind of the identity's records.
std::string EventLogPrefix(std::string_view tenant, std::string_view identity,
                           engine::LogKind kind);
struct EventLogKey {
  engine::LogKind kind;
  engine::EventTime time;
  uint64_t id_hash;
};
std::optional<EventLogKey> ParseEventLogKey(std::string_view key);

// Network: 1 byte (IPv4 prefix 0..32, or 64 + IPv6 prefix) then 4 or 16 address bytes.
std::optional<engine::Network> ParseNetworkBytes(std::string_view bytes);

// The smallest key greater than every key starting with `prefix` ("" if none).
std::string PrefixEnd(std::string_view prefix);

}  // namespace trailsentry::storage::keys

#endif  // TRAILSENTRY_STORAGE_KEYS_H_
