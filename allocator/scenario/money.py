"""Money in a scenario: the ``currency`` field (an ISO 4217 code) and how amounts are written.

Every cost of a scenario (``candidates.cost``, ``candidates.running_cost``,
``counters.counter_cost``, the budgets) is a plain number in the scenario's
``currency``; without one the amounts are abstract "units", as budgets always
were. The codes are those of ISO 4217 in use (list 1, 2024), funds and
precious metals left out: a typo such as ``BRR`` is refused instead of
printed on every page.
"""

from __future__ import annotations

#: ISO 4217 currency codes in use (list 1, 2024), without funds, precious metals and test codes
CURRENCIES = frozenset({
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
})
#: what amounts are called without a currency
UNITS = "units"


def check_currency(code: str) -> str:
    """``code`` when it is an ISO 4217 code in use (upper case), else a ValueError saying what to give."""
    if code in CURRENCIES:
        return code
    if code.upper() in CURRENCIES:
        raise ValueError(f"currency codes are upper case: give {code.upper()!r}")
    raise ValueError(f"{code!r} is not an ISO 4217 currency code in use: give a three-letter code such as "
                     "BRL, EUR, USD or CNY (or leave 'currency' out for plain units)")


def money_number(value: float) -> str:
    """An amount's number: ``1,200,000``, ``12.50`` (cents only below 100)."""
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.2f}"


def money(value: float, currency: str | None) -> str:
    """An amount with its currency: ``BRL 1,200,000``, ``BRL 12.50``; without one ``1,200,000 units``."""
    text = money_number(value)
    return f"{currency} {text}" if currency else f"{text} {UNITS}"
