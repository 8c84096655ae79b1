"""Every provider the calls channel speaks, by the name an admin gives (``--provider``)."""

from __future__ import annotations

from hub.channels.calls import calltouch, mango, sipuni, telphin, twilio, uis, zadarma
from hub.channels.calls.dialect import Dialect

DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        twilio.DIALECT,
        zadarma.DIALECT,
        mango.DIALECT,
        sipuni.DIALECT,
        uis.DIALECT,
        telphin.DIALECT,
        calltouch.DIALECT,
    )
}
