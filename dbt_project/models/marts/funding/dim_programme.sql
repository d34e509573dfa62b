with programmes as (
    select * from {{ ref('funding_programmes') }}
)

select
    programme_id,
    fund_code,
    fund_acronym,
    fund_name,
    programming_period,
    period_start_year,
    period_end_year,
    concerns_integration,
    programme_description
from programmes
