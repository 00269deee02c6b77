import { inject } from 'vitest';

// Handler modules read DYNAMODB_ENDPOINT when they load; point them at the run's DynamoDB Local.
process.env.DYNAMODB_ENDPOINT = inject('dynamoEndpoint');
