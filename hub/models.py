"""Every table of the hub, imported in one place for Alembic and for tests.

A module with tables is added here, in this explicit list, like everything else that registers.
"""

from __future__ import annotations

from hub.channels.calls import credentials as call_credentials
from hub.channels.calls import recording_jobs as call_recording_jobs
from hub.channels.email import credentials as email_credentials
from hub.channels.email import models as email_models
from hub.channels.email import scheduled_models as email_scheduled
from hub.channels.email import suppression as email_suppression
from hub.channels.telegram import models as telegram_models
from hub.channels.widget import models as widget_models
from hub.crm_sync import models as crm_models
from hub.crm_sync import number_models, tracking_numbers
from hub.db import Base
from hub.inbox import company_models, item_models, rating_models, routing_models, tracking_models
from hub.inbox import models as inbox_models

MODEL_MODULES = (
    inbox_models,
    item_models,
    rating_models,
    routing_models,
    tracking_models,
    company_models,
    widget_models,
    telegram_models,
    email_models,
    email_credentials,
    email_suppression,
    email_scheduled,
    crm_models,
    call_credentials,
    call_recording_jobs,
    tracking_numbers,
    number_models,
)

metadata = Base.metadata
