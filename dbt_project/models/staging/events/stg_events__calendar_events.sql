with source as (
    select * from {{ source('events', 'calendar_event') }}
),

renamed as (
    select
        -- a VEVENT without a readable start is one row per UID: keyed on 'no start'
        md5(source_id || '|' || event_uid || '|' || coalesce(occurrence_start_utc::text, 'no start'))
            as event_occurrence_id,
        source_id,
        load_id,
        event_uid,
        occurrence_start_utc as event_start_utc,
        start_missing_reason as event_start_missing_reason,
        occurrence_end_utc as event_end_utc,
        original_tzid as event_original_tzid,
        all_day as is_all_day,
        summary as event_title,
        description as event_description,
        nullif(trim(location), '') as event_location,
        coalesce(upper(status), 'CONFIRMED') as event_status,
        sequence as event_sequence,
        last_modified as event_last_modified_at,
        is_recurring,
        coalesce(places, '[]'::jsonb) as event_places,
        coalesce(uid_synthesised, false) as is_uid_synthesised,
        loaded_at
    from source
)

select * from renamed
