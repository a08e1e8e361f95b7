#include "storage/keys.h"

#include <cstring>

#include "server/engine/account_baselines.h"

namespace trailsentry::storage::keys {

void AppendComponent(std::string& key, std::string_view c) {
  uint32_t n = static_cast<uint32_t>(c.size());
  while (n >= 0x80) {
    key.push_back(static_cast<char>(n | 0x80));
    n >>= 7;
  }
  key.push_back(static_cast<char>(n));
  key.append(c);
}

std::optional<std::string_view> ReadComponent(std::string_view key, size_t& pos) {
  uint32_t n = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (pos >= key.size()) return std::nullopt;
    const auto byte = static_cast<uint8_t>(key[pos++]);
    n |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      if (pos + n > key.size()) return std::nullopt;
      std::string_view out = key.substr(pos, n);
      pos += n;
      return out;
    }
  }
  return std::nullopt;
}

void AppendBigEndian64(std::string& key, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(v >> shift));
}

uint64_t ReadBigEndian64(std::string_view b) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < b.size(); ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

std::string Tenant(std::string_view tenant) {
  std::string k;
  AppendComponent(k, tenant);
  return k;
}

std::string Identity(std::string_view tenant, std::string_view identity) {
  std::string k;
  k.reserve(tenant.size() + identity.size() + 4);
  AppendIdentity(k, tenant, identity);
  return k;
}

void AppendIdentity(std::string& key, std::string_view tenant, std::string_view identity) {
  AppendComponent(key, tenant);
  AppendComponent(key, identity);
}

NetworkBytes EncodeNetwork(const engine::Network& network) {
  const bool v4 = network.address().is_v4();
  NetworkBytes out;
  out.bytes[0] = static_cast<char>(v4 ? network.prefix() : 64 + network.prefix());
  out.size = v4 ? 5 : 17;
  std::memcpy(out.bytes.data() + 1, network.address().bytes().data(), out.size - 1u);
  return out;
}

void AppendNetwork(std::string& key, const engine::Network& network) {
  key.append(EncodeNetwork(network).view());
}

std::string EventLogPrefix(std::string_view tenant, std::string_view identity,
                           engine::LogKind kind) {
  std::string key = Identity(tenant, identity);
  key.push_back(static_cast<char>(kind));
  return key;
}

std::string EventLog(std::string_view tenant, std::string_view identity, engine::LogKind kind,
                     engine::EventTime time, uint64_t id_hash) {
  std::string key = EventLogPrefix(tenant, identity, kind);
  AppendBigEndian64(key, static_cast<uint64_t>(time));
  AppendBigEndian64(key, id_hash);
  return key;
}

std::optional<EventLogKey> ParseEventLogKey(std::string_view key) {
  size_t pos = 0;
  if (!ReadComponent(key, pos) || !ReadComponent(key, pos) || key.size() - pos != 17) {
    return std::nullopt;
  }
  const auto kind = static_cast<engine::LogKind>(key[pos]);
  if (kind != engine::LogKind::kSeen && kind != engine::LogKind::kBurst &&
      kind != engine::LogKind::kUnusualIp) {
    return std::nullopt;
  }
  return EventLogKey{kind, static_cast<engine::EventTime>(ReadBigEndian64(key.substr(pos + 1, 8))),
                     ReadBigEndian64(key.substr(pos + 9, 8))};
}

std::string Baseline(std::string_view tenant, std::string_view identity,
                     const engine::Network& network) {
  std::string k = Identity(tenant, identity);
  AppendNetwork(k, network);
  return k;
}

std::string AccountBaseline(std::string_view tenant, std::string_view account,
                            const engine::Network& network) {
  std::string k = Identity(tenant, account);
  AppendNetwork(k, network);
  return k;
}

std::string TrustedPrefix(std::string_view tenant, engine::TrustScope scope,
                          std::string_view name) {
  std::string k;
  AppendComponent(k, tenant);
  k.push_back(scope == engine::TrustScope::kIdentity  ? 'i'
              : scope == engine::TrustScope::kAccount ? 'a'
                                                      : 'h');
  AppendComponent(k, name);
  return k;
}

std::string Trusted(std::string_view tenant, engine::TrustScope scope, std::string_view name,
                    const engine::Network& network) {
  std::string k = TrustedPrefix(tenant, scope, name);
  k.append(engine::NetworkBytes(network));
  return k;
}

std::string Alert(std::string_view tenant, std::string_view alert_id) {
  return Identity(tenant, alert_id);
}

std::string AlertByTime(std::string_view tenant, int64_t opened_at, std::string_view alert_id) {
  std::string k;
  AppendComponent(k, tenant);
  AppendBigEndian64(k, static_cast<uint64_t>(opened_at));
  k.append(alert_id);
  return k;
}

std::string AlertByIdentity(std::string_view tenant, std::string_view identity, int64_t opened_at,
                            std::string_view alert_id) {
  std::string k = Identity(tenant, identity);
  AppendBigEndian64(k, static_cast<uint64_t>(opened_at));
  k.append(alert_id);
  return k;
}

std::optional<engine::Network> ParseNetworkBytes(std::string_view b) {
  if (b.empty()) return std::nullopt;
  const auto tag = static_cast<uint8_t>(b[0]);
  const bool v6 = tag >= 64;
  const int prefix = v6 ? tag - 64 : tag;
  const size_t len = v6 ? 16 : 4;
  if (b.size() != 1 + len || prefix > (v6 ? 128 : 32)) return std::nullopt;
  char text[64];
  // Rebuild through the CIDR parser so the result is validated like user input.
  std::string cidr;
  if (v6) {
    for (size_t i = 0; i < 16; i += 2) {
      std::snprintf(text, sizeof text, "%s%x", i ? ":" : "",
                    (static_cast<uint8_t>(b[1 + i]) << 8) | static_cast<uint8_t>(b[2 + i]));
      cidr += text;
    }
  } else {
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", static_cast<uint8_t>(b[1]),
                  static_cast<uint8_t>(b[2]), static_cast<uint8_t>(b[3]),
                  static_cast<uint8_t>(b[4]));
    cidr = text;
  }
  cidr.push_back('/');
  cidr.append(std::to_string(prefix));
  absl::StatusOr<engine::Network> n = engine::Network::ParseCidr(cidr);
  if (!n.ok()) return std::nullopt;
  return *n;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<uint8_t>(end.back()) != 0xff) {
      end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

}  // namespace trailsentry::storage::keys
