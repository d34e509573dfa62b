with occurrences as (
    select * from {{ ref('stg_events__calendar_events') }}
)

select
    event_occurrence_id,
    source_id,
    event_uid,
    event_title,
    event_start_utc,
    event_end_utc,
    event_original_tzid,
    is_all_day,
    event_location,
    event_status,
    is_recurring,
    event_last_modified_at
from occurrences
