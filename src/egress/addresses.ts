import { BlockList, isIP } from 'node:net';

/**
 * Which addresses an outbound request may connect to (SPEC S26). Private, loopback, link-local,
 * shared (CGNAT), documentation and reserved ranges are refused unless the operator allows private
 * addresses; the unspecified addresses, multicast, broadcast and the cloud metadata endpoints are
 * refused always (no on-premises API lives there, and metadata is the classic target of a request
 * forgery). IPv6 forms that carry an IPv4 address — IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
 * (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) — are judged by the IPv4 address inside.
 */

const privateRanges = new BlockList();
const alwaysRefused = new BlockList();

for (const [network, prefix] of [
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['240.0.0.0', 4],
] as const) {
  privateRanges.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['64:ff9b:1::', 48],
] as const) {
  privateRanges.addSubnet(network, prefix, 'ipv6');
}

for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['224.0.0.0', 4],
  ['255.255.255.255', 32],
] as const) {
  alwaysRefused.addSubnet(network, prefix, 'ipv4');
}
alwaysRefused.addAddress('::', 'ipv6');
alwaysRefused.addSubnet('ff00::', 8, 'ipv6');
// Cloud metadata: AWS, GCP, Azure, OpenStack (IPv4 and AWS's IPv6), Alibaba, Oracle's older one.
for (const address of ['169.254.169.254', '169.254.170.2', '100.100.100.200', '192.0.0.192']) alwaysRefused.addAddress(address, 'ipv4');
alwaysRefused.addAddress('fd00:ec2::254', 'ipv6');

/** The eight 16-bit groups of an IPv6 address (given without brackets). */
function ipv6Groups(address: string): number[] {
  // The URL parser writes any valid IPv6 form (with a dotted tail, with "::") as plain hex groups.
  const hex = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head = '', tail] = hex.split('::');
  const part = (text: string) => (text === '' ? [] : text.split(':').map((group) => parseInt(group, 16)));
  const front = part(head);
  const back = tail === undefined ? [] : part(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

const ipv4Of = (high: number, low: number): string => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/** The IPv4 address an IPv6 address stands for, when it is one of the forms that carry one. */
export function embeddedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  const zerosUpTo = (n: number) => g.slice(0, n).every((group) => group === 0);
  if (zerosUpTo(5) && g[5] === 0xffff) return ipv4Of(g[6]!, g[7]!);
  if (zerosUpTo(6) && (g[6] !== 0 || g[7]! > 1)) return ipv4Of(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((group) => group === 0)) return ipv4Of(g[6]!, g[7]!);
  if (g[0] === 0x2002) return ipv4Of(g[1]!, g[2]!);
  return undefined;
}

export type AddressVerdict = 'public' | 'private' | 'refused';

/** How an IP address (no brackets) is judged; anything that is not an IP address is refused. */
export function judgeAddress(address: string): AddressVerdict {
  const family = isIP(address);
  if (family === 0) return 'refused';
  if (family === 6) {
    const inner = embeddedIpv4(address);
    if (inner !== undefined) return judgeAddress(inner);
    if (alwaysRefused.check(address, 'ipv6')) return 'refused';
    return privateRanges.check(address, 'ipv6') ? 'private' : 'public';
  }
  if (alwaysRefused.check(address, 'ipv4')) return 'refused';
  return privateRanges.check(address, 'ipv4') ? 'private' : 'public';
}

/** Whether a request may connect to the address. */
export const mayConnect = (address: string, allowPrivate: boolean): boolean => {
  const verdict = judgeAddress(address);
  return verdict === 'public' || (verdict === 'private' && allowPrivate);
};
