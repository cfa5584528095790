Feature: Supplier stock update propagates to the storefront
  The ERP catalogue and supplier feeds flow through erp-middleware and stock-import over the broker
  into the webshop's projections, where a dealer's product search shows the new stock. (How fast is
  measured by the stock benchmark in loadtests/, not here: the waits below only bound a broken flow.)

  Background:
    Given the ERP catalogue holds the winter tyre "TY-E2E-0001" in size 205/55 R16
    And supplier "S2" is registered with a minimum order quantity of 1

  Scenario: A correction feed changes stock and price in the product search
    When supplier "S2" uploads a correction feed with 8 pieces of "TY-E2E-0001" at 61.50
    Then the storefront shows "TY-E2E-0001" in stock with 8 pieces at 61.50 within 10 seconds
    And a search for winter tyres 205/55 R16 in stock lists "TY-E2E-0001"
    And the import batch succeeded with 1 row applied and 1 aggregate changed

  Scenario: Re-uploading an unchanged feed changes nothing downstream
    When supplier "S2" uploads a correction feed with 5 pieces of "TY-E2E-0001" at 70.00
    Then the storefront shows "TY-E2E-0001" in stock with 5 pieces at 70.00 within 10 seconds
    When supplier "S2" uploads the same feed again
    Then the import batch succeeded with 1 row applied and 0 aggregate changed
    And stock-import emitted exactly 1 stock event for "TY-E2E-0001"
