// Warren ↔ Warren on the native wire (the default between appliances).
import { tunnelSuite } from './tunnel-suite.ts';

tunnelSuite('native');
