-- The migrant group next to the reference group, per indicator × geo × period × sex × age, with the gap
-- computed as the catalogue says (points: migrant − reference; ratio: migrant / reference). Works the same for
-- both comparison families (citizenship: `citizen`, country of birth: `c_birth`): the catalogue names the groups.
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
        migrant.geo_code,
        migrant.time_period,
        migrant.sex,
        migrant.age_group,
        catalogue.migrant_group,
        catalogue.reference_group,
        migrant.observation_value as migrant_value,
        migrant.observation_flags as migrant_flags,
        reference.observation_value as reference_value,
        reference.observation_flags as reference_flags
    from catalogue
    inner join matched as migrant
        on migrant.indicator_id = catalogue.indicator_id
        and migrant.population_group = catalogue.migrant_group
    inner join matched as reference
        on reference.indicator_id = catalogue.indicator_id
        and reference.population_group = catalogue.reference_group
        and reference.geo_code = migrant.geo_code
        and reference.time_period = migrant.time_period
        and reference.sex = migrant.sex
        and reference.age_group = migrant.age_group
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
