with source as (
    select * from {{ source('audit', 'registry_entry') }}
),

renamed as (
    select
        source_id,
        kind as source_kind,
        publisher,
        licence,
        is_sample,
        array_to_string(profiles, ', ') as registry_profiles,
        recorded_at
    from source
)

select * from renamed
