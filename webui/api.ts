// The admin's only view of the appliance: `AdminApi` and the data it carries. They are defined in
// appliance/control/admin-types.ts, where the daemon's implementation (appliance/admin/) can use
// the same `AdminError` class at runtime without importing webui (test/unit/architecture.test.ts);
// webui code keeps importing them from here.

export { AdminError, BEST_EXIT } from '../appliance/control/admin-types.ts';
export type {
  AdminApi,
  AdminErrorKind,
  AdminPeer,
  AdminStatus,
  DevicePolicy,
  DeviceSettings,
  ExitChoice,
  ExitInUse,
  ExitOffer,
  Health,
  Hops,
  InboundPort,
  KillSwitch,
  LeakReport,
  LanDevice,
  Member,
  NetworkInfo,
  Padding,
  PrivacySettings,
} from '../appliance/control/admin-types.ts';
