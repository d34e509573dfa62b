with source as (
    select * from {{ source('eurostat', 'eurostat_observation') }}
),

renamed as (
    select
        source_id,
        load_id,
        dataset_code,
        dimensions,
        geo as geo_code,
        time_period,
        value as observation_value,
        flags as observation_flags,
        confidentiality as observation_confidentiality,
        dataset_updated as dataset_updated_at,
        loaded_at
    from source
)

select * from renamed
