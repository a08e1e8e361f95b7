// An alert change as an OCSF Detection Finding (class_uid 2004, OCSF 1.1.0 with
// the cloud profile): what AWS Security Lake and most SIEMs ingest. The mapping
// is in docs/soar.md; trailsentry fields with no OCSF home go in `unmapped`.
//
//   std::string json = OcsfJson(change);   // one JSON object, no newline
#ifndef TRAILSENTRY_SERVER_ENGINE_ALERT_OCSF_H_
#define TRAILSENTRY_SERVER_ENGINE_ALERT_OCSF_H_

#include <google/protobuf/struct.pb.h>

#include <string>

#include "trailsentry/v1/alert.pb.h"

namespace trailsentry::engine {

google::protobuf::Struct ToOcsf(const v1::AlertChange& change);
std::string OcsfJson(const v1::AlertChange& change);
// A listed or looked-up alert: the finding as it is now (activity Create).
google::protobuf::Struct ToOcsf(const v1::Alert& alert);
std::string OcsfJson(const v1::Alert& alert);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_ALERT_OCSF_H_
