"""The request side shared by the emulator's actions: Tencent's API error, and the parameter, filter
and paging rules every action applies (each action passes its own documented codes)."""

from __future__ import annotations

import ipaddress
import re

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_FILTERS = 10
MAX_FILTER_VALUES = 5
MAX_NAME = 60
MAX_CLIENT_TOKEN = 64

ID_PATTERNS = {
    prefix: re.compile(rf"^{prefix}-[0-9a-z]{{8}}$") for prefix in ("havip", "vpc", "subnet", "eni", "ins", "eip", "sg")
}


class ApiError(Exception):
    """A Tencent Cloud API error: answered as {"Response": {"Error": {"Code", "Message"}, ...}}."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# --- parameter helpers ---------------------------------------------------------------------------
def _string(params: dict, name: str, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")
        return None
    if not isinstance(value, str):
        raise ApiError("InvalidParameter", f"The parameter `{name}` must be a string.")
    return value


def _id(params: dict, name: str, prefix: str, required: bool = False) -> str | None:
    value = _string(params, name, required)
    if value is not None:
        _check_id(name, value, prefix)
    return value


def _check_id(name: str, value, prefix: str, code: str = "InvalidParameterValue.Malformed") -> str:
    if not isinstance(value, str) or not ID_PATTERNS[prefix].match(value):
        raise ApiError(code,
                       f"The value `{value}` of parameter `{name}` is malformed (expected {prefix}-xxxxxxxx).")
    return value


def _string_list(params: dict, name: str) -> list[str] | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError("InvalidParameter", f"The parameter `{name}` must be a list of strings.")
    return value


def _bool(params: dict, name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ApiError("InvalidParameter", f"The parameter `{name}` must be a boolean.")
    return value


def _int(params: dict, name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("InvalidParameter", f"The parameter `{name}` must be an integer.")
    return value


def _ipv4(name: str, value: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        raise ApiError("InvalidParameterValue.Malformed",
                       f"The value `{value}` of parameter `{name}` is not an IPv4 address.") from None


def _name(params: dict, name: str, required: bool, too_long: str = "InvalidParameterValue.TooLong") -> str | None:
    value = _string(params, name, required)
    if value is not None and len(value) > MAX_NAME:
        raise ApiError(too_long,
                       f"The value of parameter `{name}` is longer than {MAX_NAME} characters.")
    return value


def _client_token(params: dict, malformed: str = "InvalidParameterValue.Malformed",
                  too_long: str = "InvalidParameterValue.TooLong") -> str | None:
    token = _string(params, "ClientToken")
    if token is None:
        return None
    if not token.isascii():
        raise ApiError(malformed, "The parameter `ClientToken` must be ASCII.")
    if len(token) > MAX_CLIENT_TOKEN:
        raise ApiError(too_long,
                       f"The parameter `ClientToken` is longer than {MAX_CLIENT_TOKEN} characters.")
    return token


def _tags(params: dict, duplicate: str) -> list[dict]:
    """The ``Tags`` parameter; ``duplicate``: the action's code for a repeated key."""
    name = "Tags"
    value = params.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError("InvalidParameter", f"The parameter `{name}` must be a list of {{Key, Value}}.")
    tags, seen = [], set()
    for index, tag in enumerate(value):
        if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str) or not tag["Key"]:
            raise ApiError("InvalidParameter", f"`{name}.{index}.Key` is required and must be a string.")
        if tag["Key"] in seen:
            raise ApiError(duplicate, f"The tag key `{tag['Key']}` is repeated.")
        seen.add(tag["Key"])
        tags.append({"Key": tag["Key"], "Value": str(tag.get("Value") or "")})
    return tags


# The codes each Describe* action documents for bad filters (its own list, else a common code).
FILTER_CODES = {
    "vpc": {"not_dict": "InvalidParameter.FilterNotDict", "not_list": "InvalidParameter.FilterValuesNotList",
            "bad_key": "InvalidParameter.FilterInvalidKey", "too_many": "InvalidParameterValue.LimitExceeded",
            "too_many_values": "InvalidParameterValue.LimitExceeded"},
    "havip": {"not_dict": "InvalidParameter", "not_list": "InvalidParameter",
              "bad_key": "InvalidParameter.FilterInvalidKey", "too_many": "InvalidParameterValue.LimitExceeded",
              "too_many_values": "InvalidParameterValue.LimitExceeded"},
    "address": {"not_dict": "InvalidParameter.InvalidFilter", "not_list": "InvalidParameter.InvalidFilter",
                "bad_key": "InvalidParameter.InvalidFilter", "too_many": "LimitExceeded.NumberOfFilters",
                "too_many_values": "InvalidParameterValue.LimitExceeded"},
}


def _filters(params: dict, allowed: set[str], codes: dict, max_values: int = MAX_FILTER_VALUES,
             tag_keys: bool = False) -> list[tuple[str, list[str]]]:
    """``Filters`` checked against the action's documented names and limits (``tag_keys``: ``tag:KEY``
    filters too); errors use the action's own ``codes`` (FILTER_CODES)."""
    value = params.get("Filters")
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError(codes["not_dict"], "The parameter `Filters` must be a list of {Name, Values}.")
    if len(value) > MAX_FILTERS:
        raise ApiError(codes["too_many"], f"At most {MAX_FILTERS} filters are allowed.")
    result = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
            raise ApiError(codes["not_dict"], "Each filter must be a dict with `Name` and `Values`.")
        values = item.get("Values")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ApiError(codes["not_list"], f"The filter `{item['Name']}` needs a list `Values`.")
        if item["Name"] not in allowed and not (tag_keys and item["Name"].startswith("tag:") and item["Name"][4:]):
            raise ApiError(codes["bad_key"], f"The filter key `{item['Name']}` is not supported.")
        if len(values) > max_values:
            raise ApiError(codes["too_many_values"], f"The filter `{item['Name']}` has more than {max_values} values.")
        result.append((item["Name"], values))
    return result


def _matches(filters: list[tuple[str, list[str]]], fields: dict) -> bool:
    """Filters AND together; the values of one filter OR together. A field may hold a list."""
    for name, values in filters:
        have = fields.get(name)
        have = have if isinstance(have, list) else [have]
        if not any(str(h) in values for h in have if h is not None):
            return False
    return True


def _page(params: dict, items: list, out_of_range: str = "InvalidParameterValue.Range") -> tuple[int, list]:
    offset, limit = _int(params, "Offset", 0), _int(params, "Limit", DEFAULT_LIMIT)
    if offset < 0:
        raise ApiError(out_of_range, "The parameter `Offset` must not be negative.")
    if limit < 1 or limit > MAX_LIMIT:
        raise ApiError(out_of_range, f"The parameter `Limit` must be within [1, {MAX_LIMIT}].")
    return len(items), items[offset:offset + limit]


def _ids_xor_filters(params: dict, ids_name: str) -> None:
    if params.get(ids_name) and params.get("Filters"):
        raise ApiError("InvalidParameter.Coexist",
                       f"The parameters `{ids_name}` and `Filters` cannot be given together.")


def _without_token(params: dict) -> dict:
    return {k: v for k, v in params.items() if k != "ClientToken"}
