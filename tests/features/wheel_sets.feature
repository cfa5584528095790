Feature: Component stock update recomputes only impacted sets
  The ERP catalogue, the vehicle data provider and a supplier feed flow through erp-middleware,
  vehicle-data and stock-import over the broker into the webshop, which composes complete wheel sets
  for each vehicle. A stock change of one component recomputes exactly the sets the reverse index links
  to it, as the sets' computed_at and the webshop's recompute counter show. (How fast is measured by the
  wheel-set benchmark in loadtests/; the waits only bound a broken flow.)

  Background:
    Given the ERP catalogue holds wheels "WHEEL-123" and "WHEEL-456", tyres in 205/55 R16 and 225/45 R17 and a sensor
    And the vehicle data provider lists a Golf on 205/55 R16 (optional 225/45 R17) and an A3 on 225/45 R17
    And supplier "S1" has 20 pieces of every article
    And the storefront shows complete wheel sets for the Golf and the A3 within 30 seconds

  Scenario: Component stock update recomputes only impacted sets
    Given component article "WHEEL-123" is linked in wheel_set_component_index
    When stock for "WHEEL-123" changes
    Then only linked set_key projections should be recomputed
    And unrelated sets should not be recalculated
    And the storefront shows the linked sets with 1 set in stock within 30 seconds
