-- One row per geo × indicator: the latest period in which both groups have a value (both sexes, the
-- indicator's age band), the gap then and five years earlier, the EU-27 gap, and the rank among countries.
with gaps as (
    select * from {{ ref('int_indicator_gaps') }}
    where sex = 'T'
),

geo as (
    select * from {{ ref('dim_geo') }}
),

latest as (
    select
        indicator_id,
        geo_code,
        max(time_period) as period_used
    from gaps
    where gap is not null
    group by indicator_id, geo_code
),

current_gap as (
    select gaps.*
    from gaps
    inner join latest
        on gaps.indicator_id = latest.indicator_id
        and gaps.geo_code = latest.geo_code
        and gaps.time_period = latest.period_used
),

with_history as (
    select
        current_gap.*,
        earlier.time_period as earlier_period,
        earlier.gap as gap_5y_earlier,
        eu.gap as eu27_gap
    from current_gap
    left join gaps as earlier
        on earlier.indicator_id = current_gap.indicator_id
        and earlier.geo_code = current_gap.geo_code
        and earlier.age_group = current_gap.age_group
        and current_gap.time_period ~ '^[0-9]{4}$'
        and earlier.time_period = (current_gap.time_period::int - 5)::text
    left join gaps as eu
        on eu.indicator_id = current_gap.indicator_id
        and eu.geo_code = 'EU27_2020'
        and eu.age_group = current_gap.age_group
        and eu.time_period = current_gap.time_period
),

ranked as (
    select
        with_history.*,
        geo.geo_level,
        case when geo.geo_level = 'country' then
                rank() over (
                    partition by with_history.indicator_id, with_history.time_period, geo.geo_level = 'country'
                    order by
                        case when with_history.higher_is_better then with_history.gap else -with_history.gap end desc
                )
        end as rank_among_countries,
        case when geo.geo_level = 'country' then
                count(*) over (
                    partition by with_history.indicator_id, with_history.time_period, geo.geo_level = 'country'
                )
        end as countries_ranked
    from with_history
    inner join geo on geo.geo_code = with_history.geo_code
)

select
    geo_code,
    indicator_id,
    time_period as period_used,
    age_group,
    migrant_group,
    reference_group,
    migrant_value,
    reference_value,
    gap_method,
    gap,
    migrant_flags,
    reference_flags,
    earlier_period as gap_5y_earlier_period,
    gap_5y_earlier,
    round((gap - gap_5y_earlier)::numeric, 4)::double precision as gap_change_5y,
    case when gap_5y_earlier is null then 'no gap published five years before ' || time_period end
        as gap_5y_missing_reason,
    eu27_gap,
    case when eu27_gap is null then 'no EU-27 gap for ' || time_period end as eu27_gap_missing_reason,
    rank_among_countries,
    countries_ranked
from ranked
