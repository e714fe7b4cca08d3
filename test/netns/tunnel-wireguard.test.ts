// Warren ↔ Warren on the WireGuard-compatible wire.
import { tunnelSuite } from './tunnel-suite.ts';

tunnelSuite('wireguard');
