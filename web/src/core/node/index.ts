// The node's public face: what a page needs to bring this node up.
export { PeerNode, CONSORTIUM_ROOM } from './peer-node.ts';
export type { MembershipState, NodeSnapshot, PeerNodeOptions, PeerView } from './peer-node.ts';
export { loadOrCreateIdentity, fromSecret } from './identity.ts';
export type { NodeIdentity } from './identity.ts';
export { encodeGreeting, checkGreeting, GREETING_DOMAIN } from './greeting.ts';
export type { Greeting, GreetingCheck } from './greeting.ts';
