with matched as (
    select * from {{ ref('int_indicator_observations_matched') }}
),

final as (
    select
        md5(concat_ws('|', indicator_id, geo_code, time_period, population_group, sex, age_group))
            as indicator_observation_id,
        indicator_id,
        geo_code,
        time_period,
        population_group,
        sex,
        age_group,
        observation_value,
        observation_flags,
        unit,
        dataset_code,
        dataset_updated_at,
        source_id,
        load_id
    from matched
)

select * from final
