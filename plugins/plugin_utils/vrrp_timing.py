# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VRRP timing, once for the collection: the advert interval each version carries on the wire and
the Master_Down_Interval a backup waits before it takes over.

Pure functions without Ansible imports: the plan filter (plugins/filter/vrrp_plan.py) and the bench
(lab/bench/report.py) use them. The VRRP agent, which runs on the nodes with the standard library
only, has its own copy in roles/vrrp_agent/files/havip_vrrp/machine.py; a unit test
(tests/unit/test_vrrp_plan.py) shows the two equal over the whole input range.
"""

from __future__ import annotations

# How many advert_int units make a second on the wire, per VRRP version. VRRPv2 (RFC 3768 5.3.7)
# carries whole seconds in one byte; VRRPv3 (RFC 5798 5.2.7) carries 12 bits of centiseconds.
WIRE_UNITS_PER_SECOND = {2: 1, 3: 100}
WIRE_RANGE = {2: (1, 255), 3: (1, 4095)}


def advert_wire_units(advert_int, version):
    """advert_int (seconds) as the version's wire value (v2 seconds, v3 centiseconds), or None when
    it is not a whole number of those units inside the version's range."""
    if isinstance(advert_int, bool) or not isinstance(advert_int, (int, float)) or version not in WIRE_RANGE:
        return None
    scaled = advert_int * WIRE_UNITS_PER_SECOND[version]
    units = round(scaled)
    low, high = WIRE_RANGE[version]
    if abs(scaled - units) > 1e-6 or not low <= units <= high:
        return None
    return units


def effective_advert_int(advert_int, version):
    """The advert interval in seconds that goes on the wire (v2: whole seconds; v3: steps of
    0.01 s), or None when the version cannot carry advert_int (see advert_wire_units)."""
    units = advert_wire_units(advert_int, version)
    return None if units is None else units / WIRE_UNITS_PER_SECOND[version]


def skew_time(advert_int, priority, version):
    """Skew_Time in seconds. RFC 3768 6.1 (VRRPv2): (256 - Priority) / 256 seconds, whatever the
    interval. RFC 5798 6.1 (VRRPv3): (256 - Priority) x Master_Adver_Interval / 256."""
    if version == 3:
        return (256 - priority) * advert_int / 256
    return (256 - priority) / 256


def master_down_interval(advert_int, priority, version):
    """Master_Down_Interval in seconds: 3 x the (master's) advert interval + Skew_Time of the
    backup's priority (RFC 3768 6.1, RFC 5798 6.1)."""
    return 3 * advert_int + skew_time(advert_int, priority, version)
