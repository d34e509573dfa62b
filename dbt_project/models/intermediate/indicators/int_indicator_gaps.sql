-- The migrant group next to the reference group, per indicator × geo × period × sex × age, with the gap
-- computed as the catalogue says (points: migrant − reference; ratio: migrant / reference). Works the same for
-- both comparison families (citizenship: `citizen`, country of birth: `c_birth`): the catalogue names the groups.
--
-- One grouped pass over the matched cells (each group's value picked with a filter), not a self-join: the planner
-- cannot estimate how many cells a catalogue's jsonb filter matches (it guesses a handful), and a self-join of
-- millions of cells then becomes nested loops. A table (with fresh statistics, `analyze` in the post-hook), so
-- mart_integration_scoreboard, which reads it seven times, plans its joins on real row counts.
{{ config(materialized='table', post_hook='analyze {{ this }}') }}

with matched as (
    select * from {{ ref('int_indicator_observations_matched') }}
),

catalogue as (
    select * from {{ ref('indicator_catalogue') }}
    where gap_method in ('points', 'ratio')
),

paired as (
    select
        catalogue.indicator_id,
        catalogue.indicator_group,
        catalogue.comparison_family,
        catalogue.geo_level as indicator_geo_level,
        catalogue.gap_method,
        catalogue.higher_is_better,
        matched.geo_code,
        matched.time_period,
        matched.sex,
        matched.age_group,
        catalogue.migrant_group,
        catalogue.reference_group,
        max(matched.observation_value) filter (
            where matched.population_group = catalogue.migrant_group
        ) as migrant_value,
        max(matched.observation_flags) filter (
            where matched.population_group = catalogue.migrant_group
        ) as migrant_flags,
        max(matched.observation_value) filter (
            where matched.population_group = catalogue.reference_group
        ) as reference_value,
        max(matched.observation_flags) filter (
            where matched.population_group = catalogue.reference_group
        ) as reference_flags
    from matched
    inner join catalogue
        on matched.indicator_id = catalogue.indicator_id
        and matched.population_group in (catalogue.migrant_group, catalogue.reference_group)
    group by
        catalogue.indicator_id,
        catalogue.indicator_group,
        catalogue.comparison_family,
        catalogue.geo_level,
        catalogue.gap_method,
        catalogue.higher_is_better,
        matched.geo_code,
        matched.time_period,
        matched.sex,
        matched.age_group,
        catalogue.migrant_group,
        catalogue.reference_group
    -- both groups published (a cell may be published with a NULL value: then the gap is NULL, with the reason)
    having
        count(*) filter (where matched.population_group = catalogue.migrant_group) > 0
        and count(*) filter (where matched.population_group = catalogue.reference_group) > 0
),

gaps as (
    select
        *,
        case
            when migrant_value is null or reference_value is null then null
            when gap_method = 'points' then round((migrant_value - reference_value)::numeric, 2)::double precision
            when
                gap_method = 'ratio' and reference_value <> 0
                then round((migrant_value / reference_value)::numeric, 4)::double precision
        end as gap,
        case
            when migrant_value is null and reference_value is null then 'both values missing'
            when migrant_value is null then 'migrant group value missing'
            when reference_value is null then 'reference group value missing'
            when gap_method = 'ratio' and reference_value = 0 then 'reference value is zero'
        end as gap_missing_reason
    from paired
)

select * from gaps
