-- Eurostat period codes: 2024 (year), 2024-S1 (semester), 2024-Q1 (quarter), 2024-01 / 2024M01 (month).
with periods as (
    select distinct time_period as period_code from {{ ref('stg_eurostat__observations') }}
),

parsed as (
    select
        period_code,
        substr(period_code, 1, 4)::int as period_year,
        case
            when period_code ~ '^[0-9]{4}$' then 'year'
            when period_code ~ '^[0-9]{4}-?S[12]$' then 'semester'
            when period_code ~ '^[0-9]{4}-?Q[1-4]$' then 'quarter'
            when period_code ~ '^[0-9]{4}-?M?[0-9]{2}$' then 'month'
        end as period_type,
        nullif(regexp_replace(period_code, '^[0-9]{4}-?[SQM]?', ''), '')::int as period_number
    from periods
)

select
    period_code,
    period_type,
    period_year,
    case period_type
        when 'year' then make_date(period_year, 1, 1)
        when 'semester' then make_date(period_year, 6 * (period_number - 1) + 1, 1)
        when 'quarter' then make_date(period_year, 3 * (period_number - 1) + 1, 1)
        when 'month' then make_date(period_year, period_number, 1)
    end as period_start_date,
    case period_type
        when 'year' then make_date(period_year, 12, 31)
        when
            'semester'
            then (make_date(period_year, 6 * (period_number - 1) + 1, 1) + interval '6 months' - interval '1 day')::date
        when
            'quarter'
            then (make_date(period_year, 3 * (period_number - 1) + 1, 1) + interval '3 months' - interval '1 day')::date
        when 'month' then (make_date(period_year, period_number, 1) + interval '1 month' - interval '1 day')::date
    end as period_end_date
from parsed
