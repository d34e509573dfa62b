-- One row per catalogue indicator × geo × period × group × sex × age; `is_sample` when its registry entry reads a
-- file written for the project (none of the Eurostat entries does: their files are real).
with matched as (
    select * from {{ ref('int_indicator_observations_matched') }}
),

registry_entries as (
    select * from {{ ref('stg_audit__registry_entries') }}
),

final as (
    select
        md5(concat_ws(
            '|', matched.indicator_id, matched.geo_code, matched.time_period, matched.population_group,
            matched.sex, matched.age_group
        )) as indicator_observation_id,
        matched.indicator_id,
        matched.geo_code,
        matched.time_period,
        matched.population_group,
        matched.sex,
        matched.age_group,
        matched.observation_value,
        matched.observation_flags,
        matched.unit,
        matched.dataset_code,
        matched.dataset_updated_at,
        matched.source_id,
        matched.load_id,
        registry_entries.is_sample
    from matched
    left join registry_entries on matched.source_id = registry_entries.source_id
)

select * from final
